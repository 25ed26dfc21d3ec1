variable "enabled" {
  description = "True only for the local MiniStack target (terraform/envs/local.tfvars). Turns each known emulator gap into the switch the other modules take. Must be false for every real AWS account."
  type        = bool
  default     = false
}
