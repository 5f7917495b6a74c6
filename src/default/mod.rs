//! [`DefaultCredential`]: the chain applications use, in azure-identity's order.

mod builder;
mod credential;
mod selection;

pub use builder::DefaultCredentialBuilder;
pub use credential::{DefaultCredential, Member};
pub use selection::{TOKEN_CREDENTIALS_VAR, TokenCredentialsSelection};
