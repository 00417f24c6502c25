// The operator's module API: its command, its error, and the operator as an object.
export { operatorCommand } from "./operator-command.js";
export { OperatorError, type OperatorErrorCode } from "./operator-error.js";
export {
  createRegistryMirrorOperator,
  type LeaderElectionOptions,
  type RegistryMirrorOperator,
  type RegistryMirrorOperatorOptions,
} from "./registry-mirror-operator.js";
export type { WebhookEndpoint } from "./render/render-webhook-configuration.js";
export {
  type AdmissionWebhook,
  type AdmissionWebhookOptions,
  createAdmissionWebhook,
} from "./webhook/admission-webhook.js";
