variable "name" {
  description = "The cluster's name."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version is like 1.33."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the control plane's network interfaces and the nodes."
  type        = list(string)
}

variable "public_access_cidrs" {
  description = "Networks that may reach the API server's public endpoint (the deploy runner); empty keeps it private."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "Customer key for Kubernetes secrets envelope encryption and the control plane's log group."
  type        = string
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["m7g.large"]
}

variable "node_count" {
  description = "Desired, minimum and maximum nodes of the managed node group."
  type = object({
    desired = number
    min     = number
    max     = number
  })
  default = { desired = 3, min = 3, max = 6 }
  validation {
    condition     = var.node_count.min <= var.node_count.desired && var.node_count.desired <= var.node_count.max && var.node_count.min >= 2
    error_message = "node_count needs 2 <= min <= desired <= max (a drain needs somewhere to go)."
  }
}

variable "log_retention_days" {
  description = "Days the control plane's logs are kept."
  type        = number
  default     = 90
}

variable "remediator_role_arns" {
  description = "IAM roles of the functions that change the cluster (remediate): mapped to remediator_group, which k8s/'s RBAC binds."
  type        = list(string)
}

variable "reader_role_arns" {
  description = "IAM roles of the functions that only read the cluster (health-check, analyzer): mapped to reader_group."
  type        = list(string)
}

variable "remediator_group" {
  description = "Kubernetes group of the remediator roles; the same name as k8s/overlays/ENV/settings.yaml's remediatorGroup."
  type        = string
}

variable "reader_group" {
  description = "Kubernetes group of the reader roles; the same name as k8s/overlays/ENV/settings.yaml's readerGroup."
  type        = string
}

variable "allowed_namespaces" {
  description = "Namespaces selfheal may act in: the readers' view access policy is scoped to them."
  type        = list(string)
  validation {
    condition     = length(var.allowed_namespaces) > 0 && !contains(var.allowed_namespaces, "kube-system")
    error_message = "allowed_namespaces must name at least one namespace, never kube-system."
  }
}
