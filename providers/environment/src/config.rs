//! Pure selection: which configuration the variables describe (no I/O besides reading `Env`).

use credchain_core::{Env, Secret, tenant, validate};
use zeroize::Zeroizing;

/// `AZURE_TENANT_ID`: the tenant of the service principal or user.
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`: the application (client) ID.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_CLIENT_SECRET`: a client secret's value.
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// `AZURE_CLIENT_CERTIFICATE_PATH`: a PEM (certificate and key) or PKCS#12 file.
pub const AZURE_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
/// `AZURE_CLIENT_CERTIFICATE_PASSWORD`: the password of an encrypted key or PKCS#12 file.
pub const AZURE_CLIENT_CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
/// `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`: `true` to send the `x5c` chain (subject name/issuer auth).
pub const AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: &str = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN";
/// `AZURE_USERNAME`: a user's name (deprecated username/password authentication).
pub const AZURE_USERNAME: &str = "AZURE_USERNAME";
/// `AZURE_PASSWORD`: that user's password.
pub const AZURE_PASSWORD: &str = "AZURE_PASSWORD";

/// Every variable the credential reads, in the order they are documented.
pub const VARIABLES: [&str; 8] = [
    AZURE_TENANT_ID,
    AZURE_CLIENT_ID,
    AZURE_CLIENT_SECRET,
    AZURE_CLIENT_CERTIFICATE_PATH,
    AZURE_CLIENT_CERTIFICATE_PASSWORD,
    AZURE_CLIENT_SEND_CERTIFICATE_CHAIN,
    AZURE_USERNAME,
    AZURE_PASSWORD,
];

/// The tenant used for username/password when `AZURE_TENANT_ID` is not set.
pub const DEFAULT_USER_TENANT: &str = tenant::ORGANIZATIONS;

/// The state of one variable.
#[derive(Clone, PartialEq, Eq)]
enum Var {
    Unset,
    /// Set to an empty or whitespace-only value.
    Blank,
    /// Set; the raw value (not trimmed), wiped on drop (it may be a secret or password).
    Value(Zeroizing<String>),
}

impl Var {
    /// Reads `name`; a value that is set but not Unicode is an error naming the variable (never
    /// "unset": that would let a chain skip a configuration the user did set).
    fn read(env: &Env, name: &str) -> Result<Var, String> {
        Ok(match env.var_strict(name)?.map(Zeroizing::new) {
            None => Var::Unset,
            Some(v) if v.trim().is_empty() => Var::Blank,
            Some(v) => Var::Value(v),
        })
    }

    fn present(&self) -> bool {
        matches!(self, Var::Value(_))
    }

    fn trimmed(&self) -> Option<&str> {
        match self {
            Var::Value(v) => Some(v.trim()),
            _ => None,
        }
    }
}

/// What the environment describes.
#[derive(Debug)]
pub(crate) enum Selection {
    /// Nothing usable: the message says what to set.
    Unavailable(String),
    /// A complete configuration that cannot work: the message names the variable.
    Invalid(String),
    ClientSecret {
        tenant: String,
        client_id: String,
        secret: Secret,
    },
    Certificate {
        tenant: String,
        client_id: String,
        path: String,
        password: Option<Secret>,
        send_chain: bool,
    },
    UsernamePassword {
        tenant: String,
        client_id: String,
        username: String,
        password: Secret,
    },
}

/// Picks the configuration, first match wins: secret, then certificate, then username/password
/// (azure-identity's order), with blank values counting as unset. Any of [`VARIABLES`] set to
/// a value that is not Unicode makes the selection [`Invalid`](Selection::Invalid), whatever
/// else is set.
pub(crate) fn select(env: &Env) -> Selection {
    select_checked(env).unwrap_or_else(Selection::Invalid)
}

/// [`select`], with every configuration error (including a non-Unicode value) as `Err`.
fn select_checked(env: &Env) -> Result<Selection, String> {
    for name in VARIABLES {
        Var::read(env, name)?;
    }
    let tenant = Var::read(env, AZURE_TENANT_ID)?;
    let client_id = Var::read(env, AZURE_CLIENT_ID)?;
    let secret = Var::read(env, AZURE_CLIENT_SECRET)?;
    let cert_path = Var::read(env, AZURE_CLIENT_CERTIFICATE_PATH)?;
    let username = Var::read(env, AZURE_USERNAME)?;
    let password = Var::read(env, AZURE_PASSWORD)?;

    let Some(id) = client_id.trimmed() else {
        return Ok(unavailable(
            env, &tenant, &client_id, &secret, &cert_path, &username, &password,
        ));
    };
    let id = id.to_owned();
    if let (Some(t), Some(s)) = (tenant.trimmed(), secret.trimmed()) {
        check_tenant(t)?;
        return Ok(Selection::ClientSecret {
            tenant: t.to_owned(),
            client_id: id,
            secret: Secret::new(s),
        });
    }
    if let (Some(t), Some(p)) = (tenant.trimmed(), cert_path.trimmed()) {
        check_tenant(t)?;
        let send_chain = parse_bool(env, AZURE_CLIENT_SEND_CERTIFICATE_CHAIN)?;
        let password = match Var::read(env, AZURE_CLIENT_CERTIFICATE_PASSWORD)? {
            Var::Value(v) => Some(Secret::new(v.as_str())),
            Var::Unset | Var::Blank => None,
        };
        return Ok(Selection::Certificate {
            tenant: t.to_owned(),
            client_id: id,
            path: p.to_owned(),
            password,
            send_chain,
        });
    }
    if let (Some(u), Var::Value(p)) = (username.trimmed(), &password) {
        let tenant = match tenant.trimmed() {
            Some(t) => {
                check_tenant(t)?;
                t.to_owned()
            }
            None => DEFAULT_USER_TENANT.to_owned(),
        };
        return Ok(Selection::UsernamePassword {
            tenant,
            client_id: id,
            username: u.to_owned(),
            password: Secret::new(p.as_str()),
        });
    }
    Ok(unavailable(
        env, &tenant, &client_id, &secret, &cert_path, &username, &password,
    ))
}

fn check_tenant(tenant: &str) -> Result<(), String> {
    validate::tenant_id(tenant).map_err(|_| {
        format!(
            "`{AZURE_TENANT_ID}` is not a valid tenant ID: only ASCII letters, digits, '.' and '-' are \
             allowed (find your tenant ID: https://learn.microsoft.com/partner-center/find-ids-and-domain-names)"
        )
    })
}

/// `1`/`true`/`yes` and `0`/`false`/`no`, case-insensitive; unset or blank is `false`.
pub(crate) fn parse_bool(env: &Env, name: &str) -> Result<bool, String> {
    match Var::read(env, name)? {
        Var::Unset | Var::Blank => Ok(false),
        Var::Value(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Ok(true),
            "0" | "false" | "no" => Ok(false),
            _ => Err(format!(
                "`{name}` must be `true` or `false` (`1`/`0` and `yes`/`no` also work); unset it to use the default (`false`)"
            )),
        },
    }
}

fn unavailable(
    env: &Env,
    tenant: &Var,
    client_id: &Var,
    secret: &Var,
    cert_path: &Var,
    username: &Var,
    password: &Var,
) -> Selection {
    let mut missing: Vec<&str> = Vec::new();
    if !client_id.present() {
        missing.push(AZURE_CLIENT_ID);
    }
    let user_started =
        (username.present() || password.present()) && !secret.present() && !cert_path.present();
    let mut alternatives = String::new();
    if user_started {
        if !username.present() {
            missing.push(AZURE_USERNAME);
        }
        if !password.present() {
            missing.push(AZURE_PASSWORD);
        }
    } else {
        if !tenant.present() {
            missing.push(AZURE_TENANT_ID);
        }
        if !secret.present() && !cert_path.present() {
            missing.push(AZURE_CLIENT_SECRET);
            alternatives = format!(
                " (or `{AZURE_CLIENT_CERTIFICATE_PATH}`, or `{AZURE_USERNAME}` and `{AZURE_PASSWORD}`)"
            );
        }
    }
    let set: Vec<&str> = VARIABLES
        .iter()
        .copied()
        .filter(|v| Var::read(env, v).is_ok_and(|v| v.present()))
        .collect();
    let mut msg = if set.is_empty() {
        "no service principal or user is configured in the environment".to_owned()
    } else {
        format!(
            "the environment configuration is incomplete (set: {})",
            ticked_list(&set)
        )
    };
    msg.push_str(&format!("; set {}{alternatives}", ticked_list(&missing)));
    let empty: Vec<&str> = VARIABLES
        .iter()
        .copied()
        .filter(|v| matches!(Var::read(env, v), Ok(Var::Blank)))
        .collect();
    if !empty.is_empty() {
        let verb = if empty.len() == 1 { "is" } else { "are" };
        msg.push_str(&format!("; {} {verb} set but empty", ticked_list(&empty)));
    }
    Selection::Unavailable(msg)
}

/// `` `A` ``, `` `A` and `B` ``, `` `A`, `B` and `C` ``.
fn ticked_list(names: &[&str]) -> String {
    let ticked: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match ticked.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn kind(s: &Selection) -> String {
        match s {
            Selection::Unavailable(_) => "unavailable".into(),
            Selection::Invalid(_) => "invalid".into(),
            Selection::ClientSecret { tenant, .. } => format!("secret({tenant})"),
            Selection::Certificate {
                tenant,
                password,
                send_chain,
                ..
            } => format!("cert({tenant},pw={},chain={send_chain})", password.is_some()),
            Selection::UsernamePassword { tenant, .. } => format!("user({tenant})"),
        }
    }

    const ID: (&str, &str) = (AZURE_CLIENT_ID, "app");
    const SECRET: (&str, &str) = (AZURE_CLIENT_SECRET, "s");
    const TENANT: (&str, &str) = (AZURE_TENANT_ID, "t");
    const CERT: (&str, &str) = (AZURE_CLIENT_CERTIFICATE_PATH, "/c.pem");
    const USER: (&str, &str) = (AZURE_USERNAME, "u@x");
    const PASS: (&str, &str) = (AZURE_PASSWORD, "p");

    /// Reference §11.7, adapted: blank means unset, booleans are parsed.
    #[test]
    fn selection_table() {
        let table: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "unavailable"),
            (vec![ID, SECRET, TENANT], "secret(t)"),
            (vec![ID, SECRET], "unavailable"),
            (vec![ID, SECRET, TENANT, CERT], "secret(t)"),
            (vec![ID, CERT, TENANT], "cert(t,pw=false,chain=false)"),
            (
                vec![
                    ID,
                    CERT,
                    TENANT,
                    (AZURE_CLIENT_CERTIFICATE_PASSWORD, "pw"),
                    (AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, "true"),
                ],
                "cert(t,pw=true,chain=true)",
            ),
            (
                vec![ID, CERT, TENANT, (AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, "false")],
                "cert(t,pw=false,chain=false)",
            ),
            (
                vec![ID, CERT, TENANT, (AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, "0")],
                "cert(t,pw=false,chain=false)",
            ),
            (
                vec![ID, CERT, TENANT, (AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, "YES")],
                "cert(t,pw=false,chain=true)",
            ),
            (
                vec![ID, CERT, TENANT, (AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, "")],
                "cert(t,pw=false,chain=false)",
            ),
            (
                vec![ID, CERT, TENANT, (AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, "maybe")],
                "invalid",
            ),
            (
                vec![ID, CERT, TENANT, (AZURE_CLIENT_CERTIFICATE_PASSWORD, " ")],
                "cert(t,pw=false,chain=false)",
            ),
            (vec![ID, USER, PASS], "user(organizations)"),
            (vec![ID, USER, PASS, TENANT], "user(t)"),
            (vec![ID, USER, PASS, TENANT, SECRET], "secret(t)"),
            (vec![ID, USER, PASS, CERT], "user(organizations)"),
            (vec![ID, TENANT], "unavailable"),
            (vec![TENANT, SECRET], "unavailable"),
            (vec![(AZURE_CLIENT_ID, ""), SECRET, TENANT], "unavailable"),
            (vec![ID, (AZURE_CLIENT_SECRET, ""), TENANT], "unavailable"),
            (vec![ID, SECRET, (AZURE_TENANT_ID, "")], "unavailable"),
            (vec![ID, SECRET, (AZURE_TENANT_ID, "bad tenant")], "invalid"),
            (vec![ID, CERT, (AZURE_TENANT_ID, "bad/tenant")], "invalid"),
            (vec![ID, USER, PASS, (AZURE_TENANT_ID, "bad tenant")], "invalid"),
            (vec![ID, USER, (AZURE_PASSWORD, "  ")], "unavailable"),
        ];
        for (pairs, expected) in table {
            let got = select(&env(&pairs));
            assert_eq!(kind(&got), expected, "{pairs:?}");
        }
    }

    #[test]
    fn values_are_trimmed_but_passwords_are_not() {
        let e = env(&[
            (AZURE_CLIENT_ID, " app "),
            (AZURE_TENANT_ID, " t\n"),
            USER,
            (AZURE_PASSWORD, " p "),
        ]);
        match select(&e) {
            Selection::UsernamePassword {
                tenant,
                client_id,
                password,
                ..
            } => {
                assert_eq!((tenant.as_str(), client_id.as_str()), ("t", "app"));
                assert_eq!(password.expose(), " p ");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unavailable_messages() {
        let table: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![],
                "no service principal or user is configured in the environment; set `AZURE_CLIENT_ID`, \
                 `AZURE_TENANT_ID` and `AZURE_CLIENT_SECRET` (or `AZURE_CLIENT_CERTIFICATE_PATH`, or \
                 `AZURE_USERNAME` and `AZURE_PASSWORD`)",
            ),
            (
                vec![ID, TENANT],
                "the environment configuration is incomplete (set: `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`); \
                 set `AZURE_CLIENT_SECRET` (or `AZURE_CLIENT_CERTIFICATE_PATH`, or `AZURE_USERNAME` and `AZURE_PASSWORD`)",
            ),
            (
                vec![ID, SECRET],
                "the environment configuration is incomplete (set: `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`); \
                 set `AZURE_TENANT_ID`",
            ),
            (
                vec![TENANT, CERT],
                "the environment configuration is incomplete (set: `AZURE_TENANT_ID` and \
                 `AZURE_CLIENT_CERTIFICATE_PATH`); set `AZURE_CLIENT_ID`",
            ),
            (
                vec![ID, USER],
                "the environment configuration is incomplete (set: `AZURE_CLIENT_ID` and `AZURE_USERNAME`); \
                 set `AZURE_PASSWORD`",
            ),
            (
                vec![ID, (AZURE_CLIENT_SECRET, " "), TENANT],
                "the environment configuration is incomplete (set: `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`); \
                 set `AZURE_CLIENT_SECRET` (or `AZURE_CLIENT_CERTIFICATE_PATH`, or `AZURE_USERNAME` and \
                 `AZURE_PASSWORD`); `AZURE_CLIENT_SECRET` is set but empty",
            ),
        ];
        for (pairs, expected) in table {
            match select(&env(&pairs)) {
                Selection::Unavailable(msg) => {
                    let expected: String = expected.split_whitespace().collect::<Vec<_>>().join(" ");
                    assert_eq!(msg, expected, "{pairs:?}");
                }
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_messages_name_the_variable_not_the_value() {
        let cases = [
            (
                vec![ID, SECRET, (AZURE_TENANT_ID, "evil tenant")],
                "`AZURE_TENANT_ID` is not a valid tenant ID",
            ),
            (
                vec![
                    ID,
                    CERT,
                    TENANT,
                    (AZURE_CLIENT_SEND_CERTIFICATE_CHAIN, "sometimes"),
                ],
                "`AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` must be `true` or `false`",
            ),
        ];
        for (pairs, expected) in cases {
            match select(&env(&pairs)) {
                Selection::Invalid(msg) => {
                    assert!(msg.starts_with(expected), "{msg}");
                    assert!(!msg.contains("evil") && !msg.contains("sometimes"), "{msg}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn debug_of_a_selection_hides_secrets() {
        let s = select(&env(&[ID, (AZURE_CLIENT_SECRET, "super-secret"), TENANT]));
        assert!(!format!("{s:?}").contains("super-secret"));
    }
}
