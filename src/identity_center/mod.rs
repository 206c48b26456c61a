//! The IAM Identity Center protocols: SSO-OIDC (RegisterClient, StartDeviceAuthorization,
//! CreateToken; restJson, `POST {oidc}/client/register`, `/device_authorization`,
//! `/token`) and the access portal (GetRoleCredentials, `GET {portal}/federation/credentials`
//! with the `x-amz-sso_bearer_token` header; Logout, `POST {portal}/logout`; ListAccounts,
//! `GET {portal}/assignment/accounts`, and ListAccountRoles, `GET {portal}/assignment/roles`,
//! paginated with `max_result` and `next_token`).
//!
//! Like [`crate::oidc`] for external providers, this module only speaks the protocol: it
//! sends through [`crate::net::Net`], reads the answers field by field (a field of the
//! wrong type is "a response awscred cannot read", a missing one is named), and leaves
//! caching and sign-in policy to `source::sso` and `login`. Errors keep the service's
//! code ([`Failure::code`]) so callers can decide on `AuthorizationPendingException`,
//! `UnauthorizedException` and the like.

use crate::credentials::Credentials;
use crate::error::Error;
use crate::net::{Errors, Failure, Net, Request, Service};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// A JSON answer, read field by field.
struct Doc<'a> {
    v: Value,
    operation: &'a str,
    url: String,
    status: u16,
}

impl<'a> Doc<'a> {
    fn parse(operation: &'a str, url: String, status: u16, body: &str) -> Result<Self, Failure> {
        let v: Value = serde_json::from_str(body)
            .map_err(|_| crate::net::unreadable(operation, &url, Some(status)))?;
        if !v.is_object() {
            return Err(crate::net::unreadable(operation, &url, Some(status)).into());
        }
        Ok(Self {
            v,
            operation,
            url,
            status,
        })
    }

    fn bad(&self) -> Failure {
        crate::net::unreadable(self.operation, &self.url, Some(self.status)).into()
    }

    fn missing(&self, what: &str) -> Failure {
        Error::unexpected(format!(
            "{} at {} returned no {what}",
            self.operation, self.url
        ))
        .into()
    }

    fn get<'v>(v: &'v Value, k: &str) -> Option<&'v Value> {
        v.get(k).filter(|x| !x.is_null())
    }

    fn string_in(&self, v: &Value, k: &str) -> Result<Option<String>, Failure> {
        match Self::get(v, k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad()),
        }
    }

    fn int_in(&self, v: &Value, k: &str) -> Result<Option<i64>, Failure> {
        match Self::get(v, k) {
            None => Ok(None),
            Some(x) => x.as_i64().map(Some).ok_or_else(|| self.bad()),
        }
    }

    fn string(&self, k: &str) -> Result<Option<String>, Failure> {
        self.string_in(&self.v, k)
    }

    fn int(&self, k: &str) -> Result<Option<i64>, Failure> {
        self.int_in(&self.v, k)
    }
}

fn post_json<'a>(
    net: &Net,
    operation: &'a str,
    url: &str,
    body: &Value,
    headers: Vec<(&'static str, String)>,
) -> Result<Doc<'a>, Failure> {
    let mut h = vec![("content-type", "application/json".to_string())];
    h.extend(headers);
    let reply = net.send(
        operation,
        &Request {
            method: "POST",
            url,
            headers: h,
            body: body.to_string().into_bytes(),
        },
        Errors::Json,
    )?;
    Doc::parse(
        operation,
        crate::remote::url(url),
        reply.status,
        if reply.body.trim().is_empty() {
            "{}"
        } else {
            &reply.body
        },
    )
}

/// What RegisterClient asks for.
#[derive(Debug)]
pub struct ClientRequest<'a> {
    /// `clientName`.
    pub name: &'a str,
    /// `scopes`.
    pub scopes: &'a [String],
    /// `grantTypes`.
    pub grant_types: &'a [&'a str],
    /// `redirectUris` (authorization-code clients).
    pub redirect_uris: &'a [&'a str],
    /// `issuerUrl` (authorization-code clients: the start URL).
    pub issuer_url: Option<&'a str>,
}

/// A registered client.
#[derive(Debug)]
pub struct Client {
    /// `clientId`.
    pub client_id: String,
    /// `clientSecret`.
    pub client_secret: Secret<String>,
    /// `clientSecretExpiresAt`, epoch seconds.
    pub secret_expires_at: i64,
}

/// RegisterClient (a public client).
pub fn register_client(
    net: &Net,
    region: &str,
    req: &ClientRequest<'_>,
) -> Result<Client, Failure> {
    let url = format!(
        "{}/client/register",
        Service::SsoOidc.base(net.env(), region)
    );
    let mut body = json!({
        "clientName": req.name,
        "clientType": "public",
        "scopes": req.scopes,
        "grantTypes": req.grant_types,
    });
    if !req.redirect_uris.is_empty() {
        body["redirectUris"] = json!(req.redirect_uris);
    }
    if let Some(i) = req.issuer_url {
        body["issuerUrl"] = json!(i);
    }
    let d = post_json(net, "RegisterClient", &url, &body, Vec::new())?;
    let (id, secret, expires) = (
        d.string("clientId")?,
        d.string("clientSecret")?,
        d.int("clientSecretExpiresAt")?,
    );
    let (Some(client_id), Some(secret)) = (id, secret) else {
        return Err(d.missing("client id or secret"));
    };
    Ok(Client {
        client_id,
        client_secret: Secret::new(secret),
        secret_expires_at: expires.unwrap_or(0),
    })
}

/// A started device authorization.
#[derive(Debug)]
pub struct DeviceAuthorization {
    /// `deviceCode` (a bearer secret while the sign-in is pending).
    pub device_code: Secret<String>,
    /// `userCode`, as the service sent it (show it through [`crate::remote::text`]).
    pub user_code: String,
    /// `verificationUriComplete`, else `verificationUri`.
    pub verification_uri: String,
    /// `expiresIn`, seconds.
    pub expires_in: i64,
    /// `interval`, seconds (0 when absent).
    pub interval: i64,
}

/// StartDeviceAuthorization.
pub fn start_device_authorization(
    net: &Net,
    region: &str,
    client_id: &str,
    client_secret: &Secret<String>,
    start_url: &str,
) -> Result<DeviceAuthorization, Failure> {
    let url = format!(
        "{}/device_authorization",
        Service::SsoOidc.base(net.env(), region)
    );
    let body = json!({
        "clientId": client_id,
        "clientSecret": client_secret.expose(),
        "startUrl": start_url,
    });
    let d = post_json(net, "StartDeviceAuthorization", &url, &body, Vec::new())?;
    let device_code = d.string("deviceCode")?;
    let user_code = d.string("userCode")?;
    let complete = d.string("verificationUriComplete")?;
    let plain = d.string("verificationUri")?;
    let expires_in = d.int("expiresIn")?.unwrap_or(0);
    let interval = d.int("interval")?.unwrap_or(0);
    let (Some(device_code), Some(user_code)) = (device_code, user_code) else {
        return Err(d.missing("device or user code"));
    };
    let Some(verification_uri) = complete.or(plain) else {
        return Err(d.missing("verification URL"));
    };
    Ok(DeviceAuthorization {
        device_code: Secret::new(device_code),
        user_code,
        verification_uri,
        expires_in,
        interval,
    })
}

/// The grant CreateToken redeems.
#[derive(Debug)]
pub enum Grant<'a> {
    /// The device code of a device authorization.
    DeviceCode(&'a Secret<String>),
    /// An authorization code with its PKCE verifier and the redirect URI it was sent to.
    AuthorizationCode {
        /// `code`.
        code: &'a Secret<String>,
        /// `codeVerifier`.
        verifier: &'a Secret<String>,
        /// `redirectUri`.
        redirect_uri: &'a str,
    },
    /// A refresh token.
    RefreshToken(&'a Secret<String>),
}

/// An OIDC client registration (cached by the caller until its secret expires).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: crate::secret::Secret<String>,
    /// When the secret expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The grant type of the device flow.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What CreateToken answered.
#[derive(Debug)]
pub struct Token {
    /// `accessToken`, if any.
    pub access_token: Option<Secret<String>>,
    /// `expiresIn`, seconds (0 when absent).
    pub expires_in: i64,
    /// `refreshToken`, if any.
    pub refresh_token: Option<Secret<String>>,
    /// Where it came from, for messages.
    pub url: String,
}

/// CreateToken; `operation` names it in messages (`CreateToken (refresh)`).
pub fn create_token(
    net: &Net,
    region: &str,
    client_id: &str,
    client_secret: &Secret<String>,
    grant: Grant<'_>,
    operation: &str,
) -> Result<Token, Failure> {
    let url = format!("{}/token", Service::SsoOidc.base(net.env(), region));
    let mut body = json!({
        "clientId": client_id,
        "clientSecret": client_secret.expose(),
    });
    match grant {
        Grant::DeviceCode(c) => {
            body["grantType"] = json!(DEVICE_GRANT);
            body["deviceCode"] = json!(c.expose());
        }
        Grant::AuthorizationCode {
            code,
            verifier,
            redirect_uri,
        } => {
            body["grantType"] = json!("authorization_code");
            body["code"] = json!(code.expose());
            body["codeVerifier"] = json!(verifier.expose());
            body["redirectUri"] = json!(redirect_uri);
        }
        Grant::RefreshToken(t) => {
            body["grantType"] = json!("refresh_token");
            body["refreshToken"] = json!(t.expose());
        }
    }
    let d = post_json(net, operation, &url, &body, Vec::new())?;
    let nonempty = |s: Option<String>| s.filter(|t| !t.is_empty()).map(Secret::new);
    Ok(Token {
        access_token: nonempty(d.string("accessToken")?),
        expires_in: d.int("expiresIn")?.unwrap_or(0),
        refresh_token: nonempty(d.string("refreshToken")?),
        url: d.url.clone(),
    })
}

/// GetRoleCredentials: credentials for `role_name` in `account_id`.
pub fn get_role_credentials(
    net: &Net,
    region: &str,
    access_token: &Secret<String>,
    account_id: &str,
    role_name: &str,
) -> Result<Credentials, Failure> {
    let operation = "GetRoleCredentials";
    let url = format!(
        "{}/federation/credentials?{}",
        Service::Sso.base(net.env(), region),
        crate::net::form(&[("account_id", account_id), ("role_name", role_name)])
    );
    let reply = net.send(
        operation,
        &Request {
            method: "GET",
            url: &url,
            headers: vec![("x-amz-sso_bearer_token", access_token.expose().clone())],
            body: Vec::new(),
        },
        Errors::Json,
    )?;
    let d = Doc::parse(
        operation,
        crate::remote::url(&url),
        reply.status,
        &reply.body,
    )?;
    let Some(rc) = Doc::get(&d.v, "roleCredentials") else {
        return Err(d.missing("roleCredentials"));
    };
    if !rc.is_object() {
        return Err(d.bad());
    }
    let (akid, secret, token, expiration) = (
        d.string_in(rc, "accessKeyId")?,
        d.string_in(rc, "secretAccessKey")?,
        d.string_in(rc, "sessionToken")?,
        d.int_in(rc, "expiration")?,
    );
    let (Some(akid), Some(secret), Some(token)) = (akid, secret, token) else {
        return Err(d.missing("accessKeyId, secretAccessKey and sessionToken"));
    };
    // The portal gives the expiration in epoch milliseconds.
    let expiration = expiration
        .filter(|&ms| ms > 0)
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .ok_or_else(|| d.missing("valid expiration"))?;
    Ok(Credentials {
        access_key_id: akid,
        secret_access_key: Secret::new(secret),
        session_token: Some(Secret::new(token)),
        expiration: Some(expiration),
    })
}

/// An account the access portal lets the user into (ListAccounts).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// `accountId`.
    pub account_id: String,
    /// `accountName` (empty when the portal gives none).
    pub account_name: String,
    /// `emailAddress` (empty when the portal gives none).
    pub email: String,
}

/// One page of a portal listing and the token of the next one.
#[derive(Debug)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// `nextToken`, when there are more.
    pub next_token: Option<String>,
}

/// Most items asked for in one page of ListAccounts or ListAccountRoles.
pub const PAGE_SIZE: u32 = 100;

fn portal_get<'a>(
    net: &Net,
    operation: &'a str,
    url: &str,
    access_token: &Secret<String>,
) -> Result<Doc<'a>, Failure> {
    let reply = net.send(
        operation,
        &Request {
            method: "GET",
            url,
            headers: vec![("x-amz-sso_bearer_token", access_token.expose().clone())],
            body: Vec::new(),
        },
        Errors::Json,
    )?;
    Doc::parse(
        operation,
        crate::remote::url(url),
        reply.status,
        &reply.body,
    )
}

/// The list field `key` of a page, each item read by `item`, and its `nextToken`.
fn page_of<T>(
    d: &Doc<'_>,
    key: &str,
    item: impl Fn(&Value) -> Result<Option<T>, Failure>,
) -> Result<Page<T>, Failure> {
    let items = match Doc::get(&d.v, key) {
        None => Vec::new(),
        Some(Value::Array(a)) => {
            let mut out = Vec::with_capacity(a.len());
            for v in a {
                if !v.is_object() {
                    return Err(d.bad());
                }
                out.extend(item(v)?);
            }
            out
        }
        Some(_) => return Err(d.bad()),
    };
    let next_token = d.string("nextToken")?.filter(|t| !t.is_empty());
    Ok(Page { items, next_token })
}

/// The URL of one page of the portal's `/assignment/{what}` listing: `first` parameters,
/// then the page size and the token of the page (none for the first).
fn listing_url(
    net: &Net,
    region: &str,
    what: &str,
    first: &[(&str, &str)],
    next_token: Option<&str>,
) -> String {
    let size = PAGE_SIZE.to_string();
    let mut query = first.to_vec();
    query.push(("max_result", size.as_str()));
    query.extend(next_token.map(|t| ("next_token", t)));
    format!(
        "{}/assignment/{what}?{}",
        Service::Sso.base(net.env(), region),
        crate::net::form(&query)
    )
}

/// ListAccounts: one page of the accounts the access token can use.
pub fn list_accounts(
    net: &Net,
    region: &str,
    access_token: &Secret<String>,
    next_token: Option<&str>,
) -> Result<Page<Account>, Failure> {
    let url = listing_url(net, region, "accounts", &[], next_token);
    let d = portal_get(net, "ListAccounts", &url, access_token)?;
    page_of(&d, "accountList", |v| {
        let Some(account_id) = d.string_in(v, "accountId")? else {
            return Err(d.missing("accountId"));
        };
        Ok(Some(Account {
            account_id,
            account_name: d.string_in(v, "accountName")?.unwrap_or_default(),
            email: d.string_in(v, "emailAddress")?.unwrap_or_default(),
        }))
    })
}

/// ListAccountRoles: one page of the roles the access token can use in `account_id`.
pub fn list_account_roles(
    net: &Net,
    region: &str,
    access_token: &Secret<String>,
    account_id: &str,
    next_token: Option<&str>,
) -> Result<Page<String>, Failure> {
    let url = listing_url(
        net,
        region,
        "roles",
        &[("account_id", account_id)],
        next_token,
    );
    let d = portal_get(net, "ListAccountRoles", &url, access_token)?;
    page_of(&d, "roleList", |v| {
        let Some(role) = d.string_in(v, "roleName")? else {
            return Err(d.missing("roleName"));
        };
        Ok(Some(role))
    })
}

/// Logout: revokes the access token.
pub fn logout(net: &Net, region: &str, access_token: &Secret<String>) -> Result<(), Failure> {
    let url = format!("{}/logout", Service::Sso.base(net.env(), region));
    net.send(
        "Logout",
        &Request {
            method: "POST",
            url: &url,
            headers: vec![("x-amz-sso_bearer_token", access_token.expose().clone())],
            body: Vec::new(),
        },
        Errors::Json,
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> Result<Doc<'static>, Failure> {
        Doc::parse("Op", "http://h".into(), 200, body)
    }

    #[test]
    fn fields_of_the_wrong_type_are_unreadable_and_missing_ones_named() {
        let d = doc(r#"{"a":"x","n":5,"bad":"5","nul":null}"#).unwrap();
        assert_eq!(d.string("a").unwrap().as_deref(), Some("x"));
        assert_eq!(d.int("n").unwrap(), Some(5));
        assert_eq!(d.int("nul").unwrap(), None);
        assert_eq!(d.string("absent").unwrap(), None);
        let e = d.int("bad").unwrap_err().error;
        assert!(
            e.message().contains("cannot read (HTTP 200)"),
            "{}",
            e.report()
        );
        assert!(!e.report().contains('5'), "{}", e.report());
        let e = d.missing("roleCredentials").error;
        assert_eq!(e.message(), "Op at http://h returned no roleCredentials");
        for bad in ["{\"a\":", "[1]", "<html>"] {
            let e = doc(bad).err().unwrap().error;
            assert!(e.message().contains("cannot read"), "{bad}: {}", e.report());
        }
    }

    #[test]
    fn pages_are_read_item_by_item_with_their_next_token() {
        let d = doc(r#"{"accountList":[{"accountId":"1","accountName":"a"},{"accountId":"2"}],"nextToken":"n"}"#).unwrap();
        let p = page_of(&d, "accountList", |v| d.string_in(v, "accountId")).unwrap();
        assert_eq!(p.items, ["1", "2"]);
        assert_eq!(p.next_token.as_deref(), Some("n"));
        let d = doc(r#"{"accountList":[],"nextToken":""}"#).unwrap();
        let p = page_of(&d, "accountList", |v| d.string_in(v, "accountId")).unwrap();
        assert!(
            p.items.is_empty() && p.next_token.is_none(),
            "an empty token ends the listing"
        );
        for bad in [
            r#"{"accountList":{}}"#,
            r#"{"accountList":["x"]}"#,
            r#"{"accountList":[],"nextToken":5}"#,
        ] {
            let d = doc(bad).unwrap();
            let e = page_of(&d, "accountList", |v| d.string_in(v, "accountId")).unwrap_err();
            assert!(e.error.message().contains("cannot read"), "{bad}");
        }
    }
}
