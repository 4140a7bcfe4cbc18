//! EKS access: the bearer token aws-iam-authenticator makes (a presigned STS GetCallerIdentity
//! URL), shared by the remediate, health-check and analyzer functions.

pub mod token;

pub use token::{EksToken, TokenError, presign_token};
