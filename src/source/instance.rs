//! `credential_source = Ec2InstanceMetadata` and `EcsContainer`, through the AWS SDK's own
//! providers (IMDSv2; the container endpoint with its authorization token), which honour
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` and
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`.

use super::Context;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::secret::Secret;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;

/// Which metadata endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// EC2 instance metadata.
    InstanceMetadata,
    /// ECS/EKS container endpoint.
    Container,
}

/// Credentials from the endpoint.
pub fn credentials(ctx: &Context<'_>, kind: Kind) -> Result<Credentials> {
    let pc = ProviderConfig::without_region().with_http_client(ctx.net.http());
    let result = ctx.net.block_on(async {
        match kind {
            Kind::InstanceMetadata => {
                aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                    .configure(&pc)
                    .build()
                    .provide_credentials()
                    .await
            }
            Kind::Container => {
                aws_config::ecs::EcsCredentialsProvider::builder()
                    .configure(&pc)
                    .build()
                    .provide_credentials()
                    .await
            }
        }
    })?;
    let what = match kind {
        Kind::InstanceMetadata => "the EC2 instance metadata service",
        Kind::Container => "the container credentials endpoint",
    };
    let c = result.map_err(|e| {
        Error::unexpected(format!("cannot get credentials from {what}"))
            .caused_by(&e)
            .with_hint(
                "check that this runs where that endpoint exists, or change credential_source",
            )
    })?;
    Ok(Credentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: Secret::new(c.secret_access_key().to_string()),
        session_token: c.session_token().map(|t| Secret::new(t.to_string())),
        expiration: c.expiry().map(chrono::DateTime::<chrono::Utc>::from),
    })
}

/// A metadata endpoint as a chain's base.
pub struct Endpoint(pub Kind);

impl super::Source for Endpoint {
    fn kind(&self) -> &'static str {
        match self.0 {
            Kind::InstanceMetadata => "instance-metadata",
            Kind::Container => "container",
        }
    }
    fn describe(&self) -> String {
        match self.0 {
            Kind::InstanceMetadata => "EC2 instance role (IMDS)".to_string(),
            Kind::Container => "container credentials (ECS/EKS endpoint)".to_string(),
        }
    }
    fn cache_id(&self) -> String {
        match self.0 {
            Kind::InstanceMetadata => "imds".to_string(),
            Kind::Container => "ecs".to_string(),
        }
    }
    fn cacheable(&self) -> bool {
        false
    }
    fn fetch(
        &self,
        ctx: &Context<'_>,
        _chain: &crate::config::Chain,
    ) -> Result<(Credentials, Option<String>)> {
        Ok((credentials(ctx, self.0)?, None))
    }
}
