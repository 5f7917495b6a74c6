//! Runs a fake Microsoft Entra endpoint until killed, for driving real tools (the Azure CLI)
//! against it from scripts.
//!
//! ```text
//! fake-entra --tenant T [--tenant T2 ...] --client-id C --client-secret S \
//!            [--subscription ID[,NAME[,TENANT]] ...] [--port P] [--ca-out ca.pem]
//! ```
//!
//! Prints the authority (`https://127.0.0.1:PORT`) as the first line on stdout once it is
//! serving, and keeps running until it is killed.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use credchain_fake_entra::FakeEntra;

const USAGE: &str = "\
usage: fake-entra [options]

Serves a fake Microsoft Entra ID (and the ARM subscription/tenant listings) over HTTPS on
127.0.0.1 until killed. Prints the authority URL as the first line on stdout.

options:
  --tenant ID                    a known tenant (repeatable; the first is the home tenant)
  --client-id ID                 the app registration used with --client-secret / --client-certificate
  --client-secret SECRET         register the client with this secret in every --tenant
  --client-certificate PEM_PATH  register the client with this certificate in every --tenant
  --user CLIENT_ID:USERNAME:PASSWORD   a user for the password grant (repeatable)
  --refresh-token CLIENT_ID:TOKEN      a refresh token (repeatable)
  --subscription ID[,NAME[,TENANT]]    an ARM subscription (repeatable; tenant defaults to the first)
  --token-lifetime SECONDS       expires_in of issued tokens (default 3600)
  --port PORT                    listen on this port (default: random)
  --ca-out PATH                  write the CA certificate PEM here (for REQUESTS_CA_BUNDLE)
  -h, --help                     show this help
";

#[derive(Debug, Default)]
struct Args {
    tenants: Vec<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_certificate: Option<PathBuf>,
    users: Vec<String>,
    refresh_tokens: Vec<String>,
    subscriptions: Vec<String>,
    token_lifetime: Option<u64>,
    port: u16,
    ca_out: Option<PathBuf>,
}

fn parse_args() -> Result<Option<Args>, String> {
    use lexopt::prelude::*;
    let mut args = Args::default();
    let mut parser = lexopt::Parser::from_env();
    let text = |value: std::ffi::OsString, flag: &str| {
        value
            .into_string()
            .map_err(|_| format!("`--{flag}` must be valid UTF-8"))
    };
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("tenant") => args
                .tenants
                .push(text(parser.value().map_err(|e| e.to_string())?, "tenant")?),
            Long("client-id") => {
                args.client_id = Some(text(parser.value().map_err(|e| e.to_string())?, "client-id")?)
            }
            Long("client-secret") => {
                args.client_secret = Some(text(parser.value().map_err(|e| e.to_string())?, "client-secret")?)
            }
            Long("client-certificate") => {
                args.client_certificate = Some(parser.value().map_err(|e| e.to_string())?.into())
            }
            Long("user") => args
                .users
                .push(text(parser.value().map_err(|e| e.to_string())?, "user")?),
            Long("refresh-token") => args
                .refresh_tokens
                .push(text(parser.value().map_err(|e| e.to_string())?, "refresh-token")?),
            Long("subscription") => args
                .subscriptions
                .push(text(parser.value().map_err(|e| e.to_string())?, "subscription")?),
            Long("token-lifetime") => {
                let value = text(parser.value().map_err(|e| e.to_string())?, "token-lifetime")?;
                let secs = value
                    .parse()
                    .map_err(|_| format!("`--token-lifetime` must be whole seconds, got `{value}`"))?;
                args.token_lifetime = Some(secs);
            }
            Long("port") => {
                let value = text(parser.value().map_err(|e| e.to_string())?, "port")?;
                args.port = value
                    .parse()
                    .map_err(|_| format!("`--port` must be a port number, got `{value}`"))?;
            }
            Long("ca-out") => args.ca_out = Some(parser.value().map_err(|e| e.to_string())?.into()),
            Short('h') | Long("help") => return Ok(None),
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(Some(args))
}

fn build(args: &Args) -> Result<credchain_fake_entra::FakeEntraBuilder, String> {
    let mut builder = FakeEntra::builder().port(args.port);
    for tenant in &args.tenants {
        builder = builder.tenant(tenant);
    }
    if (args.client_secret.is_some() || args.client_certificate.is_some()) && args.tenants.is_empty() {
        return Err("`--client-secret` and `--client-certificate` need at least one `--tenant`".into());
    }
    let client_id = args.client_id.as_deref();
    if let Some(secret) = &args.client_secret {
        let client_id = client_id.ok_or("`--client-secret` needs `--client-id`")?;
        for tenant in &args.tenants {
            builder = builder.client_secret(tenant, client_id, secret);
        }
    }
    if let Some(path) = &args.client_certificate {
        let client_id = client_id.ok_or("`--client-certificate` needs `--client-id`")?;
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the certificate `{}`: {e}", path.display()))?;
        for tenant in &args.tenants {
            builder = builder.client_certificate(tenant, client_id, &pem);
        }
    }
    for user in &args.users {
        let mut parts = user.splitn(3, ':');
        let (Some(client), Some(name), Some(password)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("`--user` must be CLIENT_ID:USERNAME:PASSWORD".into());
        };
        builder = builder.user(client, name, password);
    }
    for entry in &args.refresh_tokens {
        let Some((client, token)) = entry.split_once(':') else {
            return Err("`--refresh-token` must be CLIENT_ID:TOKEN".into());
        };
        builder = builder.refresh_token(client, token);
    }
    for entry in &args.subscriptions {
        let mut parts = entry.splitn(3, ',');
        let id = parts.next().unwrap_or_default();
        let name = parts.next().unwrap_or("Fake subscription");
        let Some(tenant) = parts.next().or(args.tenants.first().map(String::as_str)) else {
            return Err("`--subscription` needs a tenant: ID,NAME,TENANT or a `--tenant`".into());
        };
        builder = builder.subscription(id, name, tenant);
    }
    if let Some(secs) = args.token_lifetime {
        builder = builder.token_lifetime(Duration::from_secs(secs));
    }
    Ok(builder)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fake-entra: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let builder = match build(&args) {
        Ok(builder) => builder,
        Err(message) => {
            eprintln!("fake-entra: {message}");
            return ExitCode::from(2);
        }
    };
    let entra = match builder.start().await {
        Ok(entra) => entra,
        Err(e) => {
            eprintln!("fake-entra: cannot start the server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.ca_out
        && let Err(e) = std::fs::write(path, entra.ca_pem())
    {
        eprintln!("fake-entra: cannot write the CA to `{}`: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("{}", entra.authority());
    let _ = std::io::stdout().flush();
    eprintln!(
        "fake-entra: serving {} (CA: {})",
        entra.authority(),
        entra.ca_pem_path().display()
    );
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
