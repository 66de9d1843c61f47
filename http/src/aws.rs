//! The in-process aws-sdk-s3 client: the whole protocol (signing, XML, aws-chunked bodies) runs
//! against the store through the same [`Host`] as the socket, with no socket and no port.
//!
//! The connector is this crate's own rather than `s3s_aws::Connector`, which calls the s3s service
//! directly: through [`Host`], an in-process request gets what a socket request gets (request ids
//! on every answer, the checks of XML bodies' digests, CORS and browser-POST answers), and the
//! `aws-sdk` feature does not pull in aws-sdk-s3's default HTTPS client, which `s3s-aws` turns on.

use std::ops::Not as _;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RuntimeComponents};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::ErrorKind;
use aws_smithy_types::body::SdkBody;
use s3lite::Store;

use crate::server::Host;

/// An aws-sdk-s3 HTTP client whose every request is served by a [`Host`] in process.
#[derive(Debug, Clone)]
struct InProcess(Host);

impl HttpClient for InProcess {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn connector_error(e: impl std::error::Error + Send + Sync + 'static) -> ConnectorError {
    ConnectorError::other(Box::new(e), Some(ErrorKind::ServerError))
}

impl HttpConnector for InProcess {
    fn call(&self, req: HttpRequest) -> HttpConnectorFuture {
        let host = self.0.clone();
        HttpConnectorFuture::new_boxed(Box::pin(async move {
            let mut req = req.try_into_http1x().map_err(connector_error)?;
            if req.headers().contains_key(http::header::HOST).not() {
                // SigV4 signs the host; a request built for an endpoint URL carries it in the URI.
                let host_header = req.uri().authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
                let value = http::HeaderValue::from_str(&host_header).map_err(connector_error)?;
                req.headers_mut().insert(http::header::HOST, value);
            }
            let resp = host
                .call(req.map(s3s::Body::http_body))
                .await
                .map_err(|e| ConnectorError::other(e.into(), Some(ErrorKind::ServerError)))?;
            HttpResponse::try_from(resp.map(SdkBody::from_body_1_x)).map_err(connector_error)
        }))
    }
}

/// An `aws_sdk_s3::Config` whose HTTP client is the store's host in process, signing with
/// `credentials` (an access key of the store: [`Store::create_access_key`]) in the store's
/// region, path-style.
#[must_use]
pub fn aws_sdk_config(store: &Store, credentials: &s3lite::Credentials) -> aws_sdk_s3::Config {
    let client = InProcess(Host::new(crate::s3_service(store, None)).judging_presigned_urls(store));
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(client)
        .credentials_provider(Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            None,
            None,
            "s3lite",
        ))
        .region(Region::new(store.region().to_owned()))
        .endpoint_url("http://s3lite.local")
        .force_path_style(true)
        .build()
}

/// An `aws_sdk_s3::Client` wired to `store` in process: the way to test code written against
/// aws-sdk-s3 with s3lite standing in for S3, the way Python programs use moto.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = s3lite::Store::open_in_memory()?;
/// let keys = store.create_access_key(&store.owner())?;
/// let s3 = s3lite_http::aws_sdk_client(&store, &keys);
/// s3.create_bucket().bucket("photos").send().await?;
/// s3.put_object().bucket("photos").key("cat.jpg").body(b"meow".to_vec().into()).send().await?;
/// let got = s3.get_object().bucket("photos").key("cat.jpg").send().await?;
/// assert_eq!(got.body.collect().await?.into_bytes().as_ref(), b"meow");
/// # Ok(())
/// # }
/// ```
#[must_use]
pub fn aws_sdk_client(store: &Store, credentials: &s3lite::Credentials) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_config(store, credentials))
}
