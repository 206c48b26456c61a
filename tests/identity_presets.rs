//! Every profile documented in docs/identity-providers.md parses and resolves to an
//! identity-provider source with the settings the text describes.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use awscred::config::{AwsFiles, Base, resolve};
use awscred::env::Environment;

#[test]
fn documented_presets_resolve() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/identity-providers.md"
    ))
    .unwrap();
    let blocks: Vec<&str> = doc
        .split("```ini\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert_eq!(
        blocks.len(),
        6,
        "Okta, Entra ID, Auth0, Keycloak, Google, Cognito"
    );
    let env = Environment::from_pairs([]);
    let mut seen = Vec::new();
    for block in blocks {
        let files = AwsFiles::from_texts(block, "").unwrap();
        let name = block
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("[profile ")
            .trim_end_matches(']')
            .to_string();
        let chain = resolve::resolve(&files, &name, &env).unwrap();
        let Base::Oidc(src) = &chain.base else {
            panic!("{name} is not an identity-provider profile")
        };
        assert!(
            src.role_arn.is_some() || src.identity_pool_id.is_some(),
            "{name}"
        );
        assert_eq!(src.audience, src.client_id, "{name}");
        seen.push((name, src.clone()));
    }
    let get = |n: &str| &seen.iter().find(|(name, _)| name == n).unwrap().1;
    assert_eq!(get("okta").scopes, ["openid", "email", "offline_access"]);
    assert_eq!(get("google").scopes, ["openid", "email"]);
    assert!(get("google").client_secret.is_some());
    assert_eq!(
        get("google").authorize_params,
        [("access_type".to_string(), "offline".to_string())]
    );
    assert_eq!(get("auth0").issuer, "https://example.us.auth0.com");
    assert!(get("cognito").identity_pool_id.is_some());
}
