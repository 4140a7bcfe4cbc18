variable "cluster_name" {
  description = "The EKS cluster."
  type        = string
}

variable "region" {
  description = "The cluster's region."
  type        = string
}

variable "remediator_roles" {
  description = "IAM roles of the functions that change the cluster (remediate), by function name: mapped to remediator_group, which k8s/'s RBAC binds. Keyed by name because the ARNs are unknown until the roles exist."
  type        = map(string)
}

variable "reader_roles" {
  description = "IAM roles of the functions that only read the cluster (health-check, analyzer), by function name: mapped to reader_group."
  type        = map(string)
}

variable "remediator_group" {
  description = "Kubernetes group of the remediator roles; the same name as k8s/overlays/ENV/settings.yaml's remediatorGroup."
  type        = string
}

variable "reader_group" {
  description = "Kubernetes group of the reader roles; the same name as k8s/overlays/ENV/settings.yaml's readerGroup."
  type        = string
}

variable "namespaces" {
  description = "Namespaces selfheal may act in, in this cluster: the readers' view access policy is scoped to them (and the guardrail policy's cluster_namespaces names the same)."
  type        = list(string)
  validation {
    condition     = length(var.namespaces) > 0 && !contains(var.namespaces, "kube-system")
    error_message = "namespaces must name at least one namespace, never kube-system."
  }
}
