//! `suite!(a, b, ...)`: each named `async fn(Env)` becomes two tests, one over a loopback socket
//! and one in process, so that every suite body runs over both transports.

/// Two tests per suite body: `socket::name` and `in_process::name`.
#[macro_export]
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod socket {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Env::new(super::Transport::Socket).await).await;
                }
            )*
        }
        mod in_process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Env::new(super::Transport::InProcess).await).await;
                }
            )*
        }
    };
}
