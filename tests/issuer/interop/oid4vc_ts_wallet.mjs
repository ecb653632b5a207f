// An independent OpenID4VCI 1.0 wallet: the Openid4vciClient of oid4vc-ts (@openid4vc/openid4vci),
// with Node's WebCrypto for the holder key. Usage: node oid4vc_ts_wallet.mjs OFFER_URI [TX_CODE]
// Prints {"credential_configuration_id", "credentials", "notification_id", "holder_jwk"} as JSON.
import { createHash, randomBytes, webcrypto } from 'node:crypto'
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'
import { Openid4vciClient } from '@openid4vc/openid4vci'
import { setGlobalConfig } from '@openid4vc/utils'

setGlobalConfig({ allowInsecureUrls: true }) // the issuer under test runs on http://localhost

const [offerUri, txCode] = process.argv.slice(2)
const b64url = (bytes) => Buffer.from(bytes).toString('base64url')

const keyPair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', keyPair.publicKey)
const publicJwk = { kty, crv, x, y }

const callbacks = {
  hash: (data, alg) => createHash(alg.replace('-', '')).update(data).digest(),
  generateRandom: (length) => randomBytes(length),
  clientAuthentication: clientAuthenticationAnonymous(),
  signJwt: async (_signer, { header, payload }) => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
    const signature = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keyPair.privateKey,
      Buffer.from(input))
    return { jwt: `${input}.${b64url(signature)}`, signerJwk: publicJwk }
  },
}

const client = new Openid4vciClient({ callbacks })
const credentialOffer = await client.resolveCredentialOffer(offerUri)
const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer, issuerMetadata, txCode,
})
const credentialConfigurationId = credentialOffer.credential_configuration_ids[0]
const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata })
const { jwt } = await client.createCredentialRequestJwtProof({
  issuerMetadata, credentialConfigurationId, nonce, signer: { method: 'jwk', alg: 'ES256', publicJwk },
})
const { credentialResponse } = await client.retrieveCredentials({
  issuerMetadata, credentialConfigurationId, accessToken: accessTokenResponse.access_token, proofs: { jwt: [jwt] },
})
process.stdout.write(JSON.stringify({
  credential_configuration_id: credentialConfigurationId,
  credentials: credentialResponse.credentials,
  notification_id: credentialResponse.notification_id,
  holder_jwk: publicJwk,
}))
