export { mfa, type MfaMiddleware, type DevicesApi, type ChallengesApi, type RecoveryCodesApi, type TrustedBrowsersApi } from './mfa.js';
export type {
  MfaOptions,
  SignOnPolicyOptions,
  EmailMethodOptions,
  TotpMethodOptions,
  PhoneMethodOptions,
  PhoneMessage,
  NewDeviceNotification,
  PhoneSender,
  MethodsOptions,
  MethodType,
  LimitsOptions,
  RateLimitOptions,
  RateLimitStore,
  Branding,
  MailTransport,
  MailMessage,
  Logger,
  NoDeviceAction,
  PassportLike,
} from './config/options.js';
export type { AuthenticateOptions } from './http/authenticate.js';
export type { RequiredOptions } from './http/required.js';
export type { Duration } from './duration.js';
export type { Device, CreateDeviceInput, CreatedDevice, DeviceUpdate, RemoveOptions } from './core/devices.js';
export type { TrustedBrowser, TrustRevokedReason } from './core/trusted-browsers.js';
export type { Challenge } from './core/challenge-view.js';
export { SealedSecretError } from './methods/totp/secret-box.js';
export type { MfaEvent, MfaEventType, RequestContext } from './core/events.js';
export { MfaStrategy, type MfaVerify, type MfaVerifyResult, type MfaSuccessInfo } from './passport/strategy.js';
export { MemoryMfaStore, type MemoryMfaStoreOptions } from './stores/memory.js';
export { RedisMfaStore, type RedisMfaStoreOptions, type RedisScriptClient } from './stores/redis.js';
export { PostgresMfaStore, type PostgresMfaStoreOptions, type PostgresPool, type PostgresPoolClient, type PostgresQueryable } from './stores/postgres.js';
export type * from './stores/types.js';
export {
  MfaError,
  ValidationError,
  NotFoundError,
  LimitExceededError,
  DeviceExistsError,
  OtpError,
  LockedError,
  RateLimitError,
  DeliveryError,
  StoreUnavailableError,
  NoDeviceError,
  BadRequestError,
  type MfaErrorCode,
} from './core/errors.js';
