//! `s3lite`: the command-line front of s3lite. `s3lite serve` runs the S3 HTTP host over a store
//! directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use s3lite::{Credentials, Store};

/// An embedded, durable object store with Amazon S3 semantics.
#[derive(Debug, Parser)]
#[command(name = "s3lite", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves a store over HTTP with the S3 protocol (SigV4, path- and virtual-host-style).
    Serve(Serve),
    /// The master keys of a store's key file: list them with the live versions each wraps,
    /// rotate, rewrap what old keys wrapped, retire an unused key. Opens the store itself, so not
    /// while `s3lite serve` runs on it.
    Keys(Keys),
}

/// `s3lite keys` options.
#[derive(Debug, clap::Args)]
struct Keys {
    /// The store's directory.
    #[arg(long)]
    data: PathBuf,
    /// The master-key file (default `<data>.keys`, as for `serve`).
    #[arg(long)]
    key_file: Option<PathBuf>,
    #[command(subcommand)]
    action: KeyAction,
}

#[derive(Debug, Subcommand)]
enum KeyAction {
    /// Every master key: id, state, name, and how many live versions need it.
    List,
    /// Makes a fresh master key active for new writes (the old one keeps opening what it wrapped).
    Rotate,
    /// Re-wraps every live version's data key under the active key: those of `--from`, or of every
    /// other key. Crash-safe; run it again to finish an interrupted one.
    Rewrap {
        /// Only the versions under this key id.
        #[arg(long)]
        from: Option<String>,
    },
    /// Retires a key once no live version needs it (rewrap first); removes it from the key file.
    Retire {
        /// The key id (hex, as `list` shows it).
        key_id: String,
    },
}

/// `s3lite serve` options.
#[derive(Debug, clap::Args)]
struct Serve {
    /// The store's directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Region of a new store (an existing store keeps its own; a different value is refused).
    #[arg(long)]
    region: Option<String>,
    /// An access key id for the store's owner (with --secret-key).
    #[arg(long, requires = "secret_key")]
    access_key: Option<String>,
    /// The owner's secret key (with --access-key).
    #[arg(long, requires = "access_key")]
    secret_key: Option<String>,
    /// A further account with its key, `NAME:ACCESS_KEY:SECRET` (repeatable): each is its own owner
    /// of buckets, as S3 accounts are.
    #[arg(long = "user", value_name = "NAME:ACCESS_KEY:SECRET")]
    users: Vec<String>,
    /// Base domain for virtual-host-style requests (`bucket.<domain>`).
    #[arg(long)]
    domain: Option<String>,
    /// The master-key file for server-side encryption (created with mode 0600 if missing; default
    /// `<data>.keys`, beside the data directory, not in it). Keep it apart from the data to keep
    /// the data unreadable without it.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Store objects that ask for no encryption, in buckets with no default encryption of their
    /// own, in the clear (S3 before 2023). By default that follows `--profile`: every new object
    /// is SSE-S3 under profiles dated 2023-01-05 or later.
    #[arg(long)]
    no_default_encryption: bool,
    /// The S3 whose defaults the store follows: `latest` (today's S3: new buckets with ACLs
    /// disabled and Block Public Access on, SSE-S3 by default), `classic` (the S3 older tutorials
    /// and test suites were written against: ACLs enabled, no Block Public Access, no default
    /// encryption), or a date `YYYY-MM-DD` (the rules in force that day).
    #[arg(long, default_value = "latest", value_parser = parse_profile)]
    profile: s3lite::Profile,
    /// Crypto-shred: a deleted version's data key is destroyed with it (its half in the store's
    /// KEYSLOTS file is erased), so its bytes cannot be decrypted even before compaction.
    #[arg(long)]
    crypto_shred: bool,
    /// How long in-flight requests may run after SIGINT/SIGTERM before the store closes anyway.
    #[arg(long, default_value_t = 30)]
    drain_secs: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,s3s=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let done = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Keys(args) => keys(args),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("s3lite: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The key file: given, or `<data>.keys` beside the data directory.
fn key_file_of(data: &std::path::Path, given: Option<&PathBuf>) -> Result<PathBuf, String> {
    match (given, data.file_name()) {
        (Some(k), _) => Ok(k.clone()),
        (None, Some(name)) => Ok(data.with_file_name(format!("{}.keys", name.to_string_lossy()))),
        (None, None) => {
            Err(format!("--data {} has no name to put a key file beside: give --key-file", data.display()))
        }
    }
}

fn open_error(data: &std::path::Path, e: s3lite::Error) -> String {
    match e {
        s3lite::Error::Locked { .. } => {
            format!("the data directory {} is in use by another process: {e}", data.display())
        }
        other => format!("cannot open the store at {}: {other}", data.display()),
    }
}

/// `s3lite keys`.
fn keys(args: Keys) -> Result<(), String> {
    use s3lite::crypto::{KeyId, KeyProvider, MasterKeys};
    let key_file = key_file_of(&args.data, args.key_file.as_ref())?;
    let keys = std::sync::Arc::new(
        MasterKeys::open_file(&key_file)
            .map_err(|e| format!("cannot open the key file {}: {e}", key_file.display()))?,
    );
    if let KeyAction::Rotate = args.action {
        let id = keys.rotate().map_err(|e| e.to_string())?;
        println!("active master key is now {id}");
        return Ok(());
    }
    let store = Store::builder(&args.data)
        .key_provider(keys.clone())
        .open()
        .map_err(|e| open_error(&args.data, e))?;
    let parse = |s: &str| s.parse::<KeyId>().map_err(|e| format!("key id {s:?}: {e}"));
    let result = match args.action {
        KeyAction::Rotate => Ok(()),
        KeyAction::List => keys.list().into_iter().try_for_each(|(id, name, state)| {
            let used = store.key_usage(id).map_err(|e| e.to_string())?;
            println!("{id}  {state:?}  {}  {} live versions", name.as_deref().unwrap_or("-"), used.versions);
            Ok(())
        }),
        KeyAction::Rewrap { from } => {
            let active = keys.active_key().map_err(|e| e.to_string())?;
            let froms = match from {
                Some(f) => vec![parse(&f)?],
                None => keys.list().into_iter().map(|(id, _, _)| id).filter(|id| *id != active).collect(),
            };
            froms.into_iter().try_for_each(|from| {
                let r = store.rewrap(from).map_err(|e| format!("rewrap {from}: {e}"))?;
                println!(
                    "{from} -> {}: {} versions rewrapped, {} left, {} uploads rewrapped, {} left, {} segments rewritten ({} bytes written), {} damaged",
                    r.to,
                    r.versions_rewrapped,
                    r.versions_left,
                    r.uploads_rewrapped,
                    r.uploads_left,
                    r.segments_rewritten,
                    r.bytes_written,
                    r.damaged.len()
                );
                Ok(())
            })
        }
        KeyAction::Retire { key_id } => {
            let id = parse(&key_id)?;
            store.retire_key(id).map_err(|e| format!("retire {id}: {e}"))?;
            println!("retired {id}: no live version needed it; removed from {}", key_file.display());
            Ok(())
        }
    };
    let closed = store.close().map_err(|e| format!("closing the store failed: {e}"));
    result.and(closed)
}

fn parse_profile(s: &str) -> Result<s3lite::Profile, String> {
    s3lite::Profile::parse(s).map_err(|e| e.message())
}

/// Opens the store, sets up its accounts and keys, serves until SIGINT/SIGTERM, closes it.
fn serve(args: Serve) -> Result<(), String> {
    let key_file = key_file_of(&args.data, args.key_file.as_ref())?;
    let keys = s3lite::crypto::MasterKeys::open_or_create_file(&key_file)
        .map_err(|e| format!("cannot open the key file {}: {e}", key_file.display()))?;
    let mut builder = Store::builder(&args.data)
        .key_provider(std::sync::Arc::new(keys))
        .profile(args.profile)
        .crypto_shred(args.crypto_shred);
    if args.no_default_encryption {
        builder = builder.encrypt_by_default(false);
    }
    if let Some(region) = &args.region {
        builder = builder.region(region.clone());
    }
    let store = builder.open().map_err(|e| open_error(&args.data, e))?;
    if let Some(region) = &args.region
        && store.region() != region
    {
        return Err(format!(
            "the store at {} is in region {}, not {region} (a store keeps the region it was created with)",
            args.data.display(),
            store.region()
        ));
    }
    setup_keys(&store, &args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(target: "s3lite", %addr, region = store.region(), data = %args.data.display(), "serving");
        // One line on stdout, for scripts that started the server on port 0.
        println!("listening on http://{addr}");
        let host = s3lite_http::Host::new(s3lite_http::s3_service(&store, args.domain.as_deref()))
            .judging_presigned_urls(&store);
        s3lite_http::serve(listener, host, shutdown_signal(), Duration::from_secs(args.drain_secs))
            .await
            .map_err(|e| e.to_string())
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    let closed = store.close().map_err(|e| format!("closing the store failed: {e}"));
    tracing::info!(target: "s3lite", "store closed");
    served.and(closed)
}

/// The owner's key (given, or generated and printed once on a store that has none), and the
/// `--user` accounts.
fn setup_keys(store: &Store, args: &Serve) -> Result<(), String> {
    let owner = store.owner();
    if let (Some(id), Some(secret)) = (&args.access_key, &args.secret_key) {
        let creds = Credentials { access_key_id: id.clone(), secret_access_key: secret.clone() };
        store.import_access_key(&owner, &creds).map_err(|e| format!("--access-key: {e}"))?;
    } else {
        let usable = store.access_keys(&owner).iter().any(|k| store.access_key_secret(k).is_some());
        if !usable {
            let creds = store.create_access_key(&owner).map_err(|e| e.to_string())?;
            println!("generated the owner's access key (shown once; the store keeps it):");
            println!("  AWS_ACCESS_KEY_ID={}", creds.access_key_id);
            println!("  AWS_SECRET_ACCESS_KEY={}", creds.secret_access_key);
        }
    }
    for user in &args.users {
        let mut parts = user.splitn(3, ':');
        let (Some(name), Some(id), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("--user {user:?}: expected NAME:ACCESS_KEY:SECRET"));
        };
        let account = match store.accounts().into_iter().find(|a| a.display_name == name) {
            Some(a) => a,
            None => store.create_account(name).map_err(|e| format!("--user {name}: {e}"))?,
        };
        let creds = Credentials { access_key_id: id.to_owned(), secret_access_key: secret.to_owned() };
        store.import_access_key(&account, &creds).map_err(|e| format!("--user {name}: {e}"))?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!(target: "s3lite", "shutting down: finishing in-flight requests");
}
