//! The in-process aws-sdk-s3 client: the whole protocol (signing, XML, aws-chunked bodies) runs
//! against the store through `s3s_aws::Connector`, with no socket and no port.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use s3lite::Store;

/// An `aws_sdk_s3::Config` whose HTTP client is the store's s3s service in process, signing with
/// `credentials` (an access key of the store: [`Store::create_access_key`]) in the store's
/// region, path-style.
#[must_use]
pub fn aws_sdk_config(store: &Store, credentials: &s3lite::Credentials) -> aws_sdk_s3::Config {
    let service = crate::s3_service(store, None);
    let client = s3s_aws::Client::from(service);
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
