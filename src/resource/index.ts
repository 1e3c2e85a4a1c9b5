/** `latchkey/resource`: validate Latchkey JWT access tokens (RFC 9068) in a resource server. */
export { extractBearer, type GuardOptions } from './bearer.js';
export {
  type BearerError,
  errorBody,
  failureHeaders,
  VerificationError,
  type VerificationErrorCode,
  wwwAuthenticate,
} from './errors.js';
export { expressRequireToken, type RequestWithAuth } from './express.js';
export { type FastifyPreHandler, requireToken, requireToken as fastifyRequireToken } from './fastify.js';
export {
  expressProtectedResource,
  fastifyProtectedResource,
  PROTECTED_RESOURCE_WELL_KNOWN,
  type ProtectedResourceOptions,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  withResourceMetadata,
} from './protected-resource.js';
export {
  type AccessTokenClaims,
  type AccessTokenVerifier,
  type Algorithm,
  acrSatisfies,
  createVerifier,
  type DpopNonceOptions,
  SUPPORTED_ALGORITHMS,
  type VerifiedAccessToken,
  type VerifierOptions,
  type VerifyOptions,
} from './verifier.js';
