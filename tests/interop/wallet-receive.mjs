#!/usr/bin/env node
// An independent OpenID4VCI 1.0 wallet on oid4vc-ts's Openid4vciClient.
//
//   node wallet-receive.mjs OFFER_URI [--tx-code X] [--configuration ID ...] [--batch N] [--no-verify] [--dpop]
//
// Resolves the offer (by value or credential_offer_uri), fetches issuer and AS metadata, redeems the
// pre-authorized code (with tx_code), asks the nonce endpoint, proves possession of a fresh P-256 key
// per credential (`openid4vci-proof+jwt`, `jwk` header) and requests each offered configuration.
// With --dpop the access token is bound to a fresh P-256 DPoP key (RFC 9449), which oid4vc-ts then proves
// on every credential and notification request.
// Each credential is then verified against the keys its issuer publishes. Prints one JSON document:
// {credential_issuer, credentials: [{configuration_id, format, credential, holder_private_jwk, verification}], ...}.

import { resourceRequest } from '@openid4vc/oauth2'
import { Openid4vciClient } from '@openid4vc/openid4vci'
import { InteropError, parseArgs, runMain } from './lib/common.mjs'
import { createCallbacks, generateEcKey, KeyStore } from './lib/callbacks.mjs'
import { verifySdJwtVc, verifyVcJwt } from './lib/credentials.mjs'

const USAGE = {
  positional: ['offer'],
  options: {
    '--tx-code': 'string', '--configuration': 'list', '--batch': 'int', '--no-verify': 'bool', '--no-notify': 'bool', '--dpop': 'bool',
  },
}

/** Credential request by `credential_identifier` (OID4VCI 1.0 § 8.2), which Openid4vciClient cannot send. */
async function requestByIdentifier(callbacks, issuerMetadata, accessToken, identifier, proofs, dpop) {
  const { ok, response } = await resourceRequest({
    callbacks,
    accessToken,
    dpop,
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    requestOptions: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ credential_identifier: identifier, proofs }) },
  })
  const body = await response.json().catch(() => undefined)
  if (!ok) throw new InteropError('credential_request_failed', `credential endpoint answered ${response.status}`, body)
  return body
}

async function verify(format, credential, holderJwk) {
  try {
    const result = format === 'dc+sd-jwt' ? await verifySdJwtVc(credential, { holderJwk }) : await verifyVcJwt(credential, { holderJwk })
    return { verified: true, issuer: result.issuer, checks: result.checks, claims: result.claims ?? result.credential }
  } catch (error) {
    return { verified: false, error: error.error ?? 'error', error_description: error.message, details: error.details }
  }
}

async function receive(argv) {
  const args = await parseArgs(argv, USAGE)
  const keys = new KeyStore()
  const callbacks = createCallbacks(keys)
  const client = new Openid4vciClient({ callbacks })

  const credentialOffer = await client.resolveCredentialOffer(args.offer)
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
  let dpopOptions
  if (args.dpop) {
    const dpopKey = await generateEcKey()
    keys.add(dpopKey.privateJwk)
    dpopOptions = { signer: { method: 'jwk', alg: 'ES256', publicJwk: dpopKey.publicJwk } }
  }
  const { accessTokenResponse, dpop } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode: args.tx_code,
    dpop: dpopOptions,
  })
  const wanted = args.configuration.length ? args.configuration : credentialOffer.credential_configuration_ids
  const batch = Math.max(1, args.batch ?? 1)
  const credentials = []
  const notifications = []
  for (const configurationId of wanted) {
    const configuration = issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId]
    if (!configuration) throw new InteropError('unknown_credential_configuration', configurationId)
    const holders = []
    const proofs = []
    // One c_nonce per credential request, in every proof of the batch; a fresh key per credential.
    const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata })
    for (let i = 0; i < batch; i++) {
      const holder = await generateEcKey()
      keys.add(holder.privateJwk)
      const { jwt } = await client.createCredentialRequestJwtProof({
        issuerMetadata,
        credentialConfigurationId: configurationId,
        signer: { method: 'jwk', alg: 'ES256', publicJwk: holder.publicJwk },
        nonce,
        issuedAt: new Date(),
      })
      holders.push(holder)
      proofs.push(jwt)
    }
    const identifiers = (accessTokenResponse.authorization_details ?? [])
      .filter((detail) => detail.credential_configuration_id === configurationId)
      .flatMap((detail) => detail.credential_identifiers ?? [])
    const response = identifiers.length
      ? await requestByIdentifier(callbacks, issuerMetadata, accessTokenResponse.access_token, identifiers[0], { jwt: proofs }, dpop)
      : (
          await client.retrieveCredentials({
            issuerMetadata,
            accessToken: accessTokenResponse.access_token,
            credentialConfigurationId: configurationId,
            proofs: { jwt: proofs },
            dpop,
          })
        ).credentialResponse
    const issued = response.credentials ?? (response.credential ? [{ credential: response.credential }] : [])
    if (issued.length === 0) throw new InteropError('no_credential', `no credential for ${configurationId}`, response)
    for (const [index, entry] of issued.entries()) {
      const credential = typeof entry === 'object' && 'credential' in entry ? entry.credential : entry
      // One credential per proof key, in order (OID4VCI 1.0 § 8.3); match by key when verifying.
      const holder = holders[Math.min(index, holders.length - 1)]
      credentials.push({
        configuration_id: configurationId,
        format: configuration.format,
        credential,
        holder_private_jwk: holder.privateJwk,
        holder_public_jwk: holder.publicJwk,
        ...(args.no_verify ? {} : { verification: await verify(configuration.format, credential, holder.publicJwk) }),
      })
    }
    if (response.notification_id && issuerMetadata.credentialIssuer.notification_endpoint && !args.no_notify) {
      const sent = await client
        .sendNotification({
          issuerMetadata,
          accessToken: accessTokenResponse.access_token,
          notification: { notificationId: response.notification_id, event: 'credential_accepted' },
          dpop,
        })
        .then((r) => r.response.status)
        .catch((error) => `failed: ${error.message}`)
      notifications.push({ notification_id: response.notification_id, status: sent })
    }
  }
  return {
    credential_issuer: credentialOffer.credential_issuer,
    credential_offer: credentialOffer,
    oid4vci_version: issuerMetadata.originalDraftVersion,
    issuer_display: issuerMetadata.credentialIssuer.display ?? null,
    token_type: accessTokenResponse.token_type,
    credentials,
    notifications,
  }
}

runMain(receive)
