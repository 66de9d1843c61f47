//! s3lite's S3 HTTP host against `s3s-fs` 0.14.1 (the same s3s protocol stack over plain files,
//! writing a temporary file and renaming it, with no fsync) and against s3lite in process (the
//! library's own client, no HTTP), all in one run on the same machine.
//!
//! `cargo run --release -p s3lite-http --example http_bench --features aws-sdk -- [--quick] [--runs N]`
//!
//! Both servers are served by [`s3lite_http::serve`] and [`s3lite_http::Host`] (what `s3lite serve`
//! runs) on free loopback ports, on a server runtime of their own; the client is aws-sdk-s3 over
//! plain HTTP (as `http/tests/sdk.rs` configures it) on a second runtime, so client and server
//! share the machine as two processes would. s3lite keeps its default durability (`Immediate`:
//! acknowledged means synced); s3s-fs syncs nothing.
//!
//! Rows: PUT and GET of 4 KiB objects over 1 and 16 connections (in process: 1 and 16 threads),
//! PUT and GET of 8 MiB objects over 1 connection. Then, in process, one 256 MiB file sent by
//! `Client::upload_file_with` (multipart, parts side by side) and by one `put_object` stream.
//! Every store is warmed up untimed first; each figure is the median of `--runs` runs (3; 1 with
//! `--quick`, which also cuts the counts) with its range, and ratios are taken within a run.
//! Data lives in a temporary directory that is removed at the end (at most about 2 GiB).

use std::error::Error;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use s3lite::{Body, ExtraArgs, Store, TransferConfig};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const BUCKET: &str = "bench";
const SMALL_BYTES: usize = 4 << 10;
const LARGE_BYTES: usize = 8 << 20;
const FILE_BYTES: usize = 256 << 20;
/// Connections (HTTP) or threads (in process) of the concurrent rows.
const WIDE: usize = 16;
/// Untimed operations per store and row before the first run.
const WARMUP_SMALL: usize = 64;
const WARMUP_LARGE: usize = 2;

/// Operations per row and run.
#[derive(Debug, Clone, Copy)]
struct Counts {
    small_put_1: usize,
    small_put_wide: usize,
    small_get_1: usize,
    small_get_wide: usize,
    large: usize,
}

impl Counts {
    fn new(quick: bool) -> Counts {
        if quick {
            Counts {
                small_put_1: 300,
                small_put_wide: 1_000,
                small_get_1: 1_000,
                small_get_wide: 2_000,
                large: 6,
            }
        } else {
            Counts {
                small_put_1: 1_000,
                small_put_wide: 4_000,
                small_get_1: 3_000,
                small_get_wide: 6_000,
                large: 16,
            }
        }
    }
}

/// The six rows, in the order they run and print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    SmallPut1,
    SmallPutWide,
    SmallGet1,
    SmallGetWide,
    LargePut,
    LargeGet,
}

const ROWS: [Row; 6] =
    [Row::SmallPut1, Row::SmallPutWide, Row::SmallGet1, Row::SmallGetWide, Row::LargePut, Row::LargeGet];

impl Row {
    fn label(self) -> &'static str {
        match self {
            Row::SmallPut1 => "4 KiB PUT, 1 conn",
            Row::SmallPutWide => "4 KiB PUT, 16 conns",
            Row::SmallGet1 => "4 KiB GET, 1 conn",
            Row::SmallGetWide => "4 KiB GET, 16 conns",
            Row::LargePut => "8 MiB PUT, 1 conn",
            Row::LargeGet => "8 MiB GET, 1 conn",
        }
    }

    fn is_put(self) -> bool {
        matches!(self, Row::SmallPut1 | Row::SmallPutWide | Row::LargePut)
    }

    fn width(self) -> usize {
        if matches!(self, Row::SmallPutWide | Row::SmallGetWide) { WIDE } else { 1 }
    }

    fn bytes(self) -> usize {
        if matches!(self, Row::LargePut | Row::LargeGet) { LARGE_BYTES } else { SMALL_BYTES }
    }

    fn count(self, c: Counts) -> usize {
        match self {
            Row::SmallPut1 => c.small_put_1,
            Row::SmallPutWide => c.small_put_wide,
            Row::SmallGet1 => c.small_get_1,
            Row::SmallGetWide => c.small_get_wide,
            Row::LargePut | Row::LargeGet => c.large,
        }
    }

    /// The keys a row touches in run `run`: PUTs write fresh keys (no overwrites, so no dead
    /// bytes and no background compaction); GETs read what this run's PUTs wrote, small ones in a
    /// scattered order.
    fn keys(self, run: usize, c: Counts) -> Vec<String> {
        let n = self.count(c);
        match self {
            Row::SmallPut1 => (0..n).map(|i| format!("r{run}/one/{i:06}")).collect(),
            Row::SmallPutWide => (0..n).map(|i| format!("r{run}/wide/{i:06}")).collect(),
            Row::SmallGet1 | Row::SmallGetWide => {
                let written = c.small_put_wide;
                // A stride coprime with the count visits every written key once per pass, out of order.
                let stride = (written / 2 + 1..).find(|s| gcd(*s, written) == 1).unwrap_or(1);
                (0..n).map(|i| format!("r{run}/wide/{:06}", (i * stride) % written)).collect()
            }
            Row::LargePut | Row::LargeGet => (0..n).map(|i| format!("r{run}/large/{i:03}")).collect(),
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Bytes that do not repeat in any short period (xorshift), so nothing on the path can shortcut
/// them.
fn payload(len: usize, seed: u64) -> Bytes {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// One of the three columns.
enum Target {
    /// aws-sdk-s3 over loopback to a server.
    Http(aws_sdk_s3::Client),
    /// The library's client, in process.
    InProcess(s3lite::Client),
}

impl Target {
    /// Runs `keys` as `row` with `row.width()` connections or threads; returns the elapsed time.
    fn run(&self, rt: &tokio::runtime::Runtime, row: Row, keys: Vec<String>, body: &Bytes) -> Res<Duration> {
        match self {
            Target::Http(client) => rt.block_on(http_ops(client, row, keys, body)),
            Target::InProcess(client) => local_ops(client, row, keys, body),
        }
    }
}

async fn http_one(client: &aws_sdk_s3::Client, row: Row, key: &str, body: &Bytes) -> Res<()> {
    if row.is_put() {
        let stream = ByteStream::from(body.clone());
        client.put_object().bucket(BUCKET).key(key).body(stream).send().await?;
    } else {
        let out = client.get_object().bucket(BUCKET).key(key).send().await?;
        let got = out.body.collect().await?.into_bytes();
        check_len(key, got.len(), body.len())?;
    }
    Ok(())
}

async fn http_ops(client: &aws_sdk_s3::Client, row: Row, keys: Vec<String>, body: &Bytes) -> Res<Duration> {
    let keys = Arc::new(keys);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(row.width());
    for _ in 0..row.width() {
        let (client, keys, next, body) = (client.clone(), keys.clone(), next.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(key) = keys.get(i) else { return Res::Ok(()) };
                http_one(&client, row, key, &body).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(started.elapsed())
}

fn local_one(client: &s3lite::Client, row: Row, key: &str, body: &Bytes) -> Res<()> {
    if row.is_put() {
        client.put_object().bucket(BUCKET).key(key).body(Body::Bytes(body.to_vec())).send()?;
    } else {
        let got = client.get_object().bucket(BUCKET).key(key).send()?.into_output().body.read_to_vec()?;
        check_len(key, got.len(), body.len())?;
    }
    Ok(())
}

fn local_ops(client: &s3lite::Client, row: Row, keys: Vec<String>, body: &Bytes) -> Res<Duration> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..row.width())
            .map(|_| {
                scope.spawn(|| -> Res<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(key) = keys.get(i) else { return Ok(()) };
                        local_one(client, row, key, body)?;
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().map_err(|_| "a worker panicked")?)
    })?;
    Ok(started.elapsed())
}

fn check_len(key: &str, got: usize, want: usize) -> Res<()> {
    if got == want { Ok(()) } else { Err(format!("GET {key}: {got} bytes, expected {want}").into()) }
}

/// A server on a free loopback port, served on the server runtime until dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), s3lite_http::ServeError>>>,
}

impl Server {
    fn start(rt: &tokio::runtime::Runtime, service: s3s::service::S3Service) -> Res<Server> {
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let host = s3lite_http::Host::new(service);
        let task =
            rt.spawn(s3lite_http::serve(listener, host, async { drop(rx.await) }, Duration::from_secs(5)));
        Ok(Server { addr, stop: Some(tx), task: Some(task) })
    }

    fn stop(mut self, rt: &tokio::runtime::Runtime) -> Res<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            rt.block_on(task)??;
        }
        Ok(())
    }
}

/// An aws-sdk-s3 client of `addr`, configured as the SDK suite's socket transport.
fn sdk_client(addr: SocketAddr, access_key: &str, secret: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .credentials_provider(Credentials::new(access_key, secret, None, None, "bench"))
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{addr}"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Per-run rates (operations per second) of each (row, column); columns are s3lite HTTP, s3s-fs
/// HTTP, in process.
type Samples = Vec<[Vec<f64>; 3]>;

/// Name of the client runtime's threads, to tell the client's CPU time from the servers'.
const CLIENT_THREAD: &str = "bench-client";

/// User + system time of one `/proc` stat line, in clock ticks of 10 ms (Linux's USER_HZ).
fn stat_cpu(stat: &str) -> Option<Duration> {
    // The command name (which may hold spaces) ends with `)`; utime and stime are fields 14 and
    // 15 of the line, 12 and 13 after it.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// This process's CPU time so far (all threads, exited ones included) and the part of it spent
/// by the client runtime's threads (which live as long as the run); `None` off Linux.
fn process_cpu() -> Option<(Duration, Duration)> {
    let total = stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let mut client = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == CLIENT_THREAD
            && let Some(t) =
                std::fs::read_to_string(task.path().join("stat")).ok().as_deref().and_then(stat_cpu)
        {
            client += t;
        }
    }
    Some((total, client))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

fn range(v: &[f64]) -> (f64, f64) {
    v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}

/// `median (lo–hi)`, with a rate's unit.
fn figure(v: &[f64], digits: usize) -> String {
    let (lo, hi) = range(v);
    if v.len() == 1 {
        format!("{:.digits$}", v[0])
    } else {
        format!("{:.digits$} ({lo:.digits$}–{hi:.digits$})", median(v))
    }
}

struct Args {
    quick: bool,
    runs: usize,
}

fn args() -> Res<Args> {
    let mut a = Args { quick: false, runs: 0 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--runs" => a.runs = it.next().ok_or("--runs needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other}; expected --quick, --runs N").into()),
        }
    }
    if a.runs == 0 {
        a.runs = if a.quick { 1 } else { 3 };
    }
    Ok(a)
}

fn main() -> Res<()> {
    let args = args()?;
    let counts = Counts::new(args.quick);
    let dir = tempfile::Builder::new().prefix("s3lite-http-bench").tempdir()?;
    let server_rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let client_rt =
        tokio::runtime::Builder::new_multi_thread().thread_name(CLIENT_THREAD).enable_all().build()?;

    // s3lite served, with its default (durable) options.
    let served = Store::builder(dir.path().join("s3lite-http")).open()?;
    let keys = served.create_access_key(&served.owner())?;
    let s3lite_server = Server::start(&server_rt, s3lite_http::s3_service(&served, None))?;
    // s3s-fs: its FileSystem with s3s's SimpleAuth, behind the same host.
    let fs_root = dir.path().join("s3s-fs");
    std::fs::create_dir_all(&fs_root)?;
    let mut fs_service = s3s::service::S3ServiceBuilder::new(
        s3s_fs::FileSystem::new(&fs_root).map_err(|e| format!("s3s-fs: {e:?}"))?,
    );
    fs_service.set_auth(s3s::auth::SimpleAuth::from_single(
        keys.access_key_id.clone(),
        keys.secret_access_key.clone(),
    ));
    let fs_server = Server::start(&server_rt, fs_service.build())?;
    // s3lite in process.
    let local = Store::builder(dir.path().join("s3lite-local")).open()?;

    let targets = [
        Target::Http(sdk_client(s3lite_server.addr, &keys.access_key_id, &keys.secret_access_key)),
        Target::Http(sdk_client(fs_server.addr, &keys.access_key_id, &keys.secret_access_key)),
        Target::InProcess(local.client()),
    ];
    for t in &targets {
        match t {
            Target::Http(c) => drop(client_rt.block_on(c.create_bucket().bucket(BUCKET).send())?),
            Target::InProcess(c) => drop(c.create_bucket().bucket(BUCKET).send()?),
        }
    }
    let small = payload(SMALL_BYTES, 0x5eed);
    let large = payload(LARGE_BYTES, 0xb16);

    eprintln!("warming up");
    for t in &targets {
        for (row, n, body) in [
            (Row::SmallPutWide, WARMUP_SMALL, &small),
            (Row::SmallGetWide, WARMUP_SMALL, &small),
            (Row::LargePut, WARMUP_LARGE, &large),
            (Row::LargeGet, WARMUP_LARGE, &large),
        ] {
            let keys: Vec<_> = (0..n).map(|i| format!("warm/{}/{i}", row.bytes())).collect();
            t.run(&client_rt, row, keys, body)?;
        }
    }

    let mut samples: Samples = ROWS.iter().map(|_| [vec![], vec![], vec![]]).collect();
    let mut cpu: Samples = ROWS.iter().map(|_| [vec![], vec![], vec![]]).collect();
    let mut client_cpu: Samples = ROWS.iter().map(|_| [vec![], vec![], vec![]]).collect();
    for run in 0..args.runs {
        eprintln!("run {} of {}", run + 1, args.runs);
        for (r, row) in ROWS.iter().enumerate() {
            let body = if row.bytes() == LARGE_BYTES { &large } else { &small };
            // The columns take turns row by row, so a slow moment of the disk falls on all three.
            for (c, t) in targets.iter().enumerate() {
                let cpu_before = process_cpu();
                let took = t.run(&client_rt, *row, row.keys(run, counts), body)?;
                samples[r][c].push(row.count(counts) as f64 / took.as_secs_f64());
                if let (Some(a), Some(b)) = (cpu_before, process_cpu()) {
                    let per_op = |d: Duration| d.as_secs_f64() * 1e3 / row.count(counts) as f64;
                    cpu[r][c].push(per_op(b.0 - a.0));
                    client_cpu[r][c].push(per_op(b.1.saturating_sub(a.1)));
                }
            }
        }
    }
    s3lite_server.stop(&server_rt)?;
    fs_server.stop(&server_rt)?;
    served.close()?;
    local.close()?;
    print_table(&samples);
    print_cpu(&cpu, &client_cpu);

    let (one, parts) = file_upload(dir.path(), args.runs)?;
    print_upload(&one, &parts);
    Ok(())
}

fn print_table(samples: &Samples) {
    println!(
        "| row | s3lite HTTP (durable) | s3s-fs HTTP (no fsync) | s3lite in process | s3lite HTTP / s3s-fs | s3lite HTTP / in process |"
    );
    println!("|---|---|---|---|---|---|");
    for (row, s) in ROWS.iter().zip(samples) {
        let unit = if row.bytes() == LARGE_BYTES { "MiB/s" } else { "ops/s" };
        let scale = if row.bytes() == LARGE_BYTES { (LARGE_BYTES >> 20) as f64 } else { 1.0 };
        let col = |c: usize| {
            let v: Vec<f64> = s[c].iter().map(|x| x * scale).collect();
            format!("{} {unit}", figure(&v, 0))
        };
        let ratio = |a: usize, b: usize| {
            let v: Vec<f64> = s[a].iter().zip(&s[b]).map(|(x, y)| x / y).collect();
            format!("{} ×", figure(&v, 2))
        };
        let in_process = if row.width() == WIDE { format!("{} (16 threads)", col(2)) } else { col(2) };
        println!(
            "| {} | {} | {} | {in_process} | {} | {} |",
            row.label(),
            col(0),
            col(1),
            ratio(0, 1),
            ratio(0, 2)
        );
    }
}

/// Where time goes: CPU milliseconds per operation of the whole process (client and server
/// together) and, for the HTTP columns, the aws-sdk-s3 client's share (its runtime's threads);
/// in process, the caller's threads and the store's.
fn print_cpu(cpu: &Samples, client: &Samples) {
    if cpu.iter().all(|c| c.iter().all(Vec::is_empty)) {
        return;
    }
    println!();
    println!(
        "| row | CPU ms/op, s3lite HTTP (client) | CPU ms/op, s3s-fs HTTP (client) | CPU ms/op, in process |"
    );
    println!("|---|---|---|---|");
    for ((row, c), k) in ROWS.iter().zip(cpu).zip(client) {
        let col = |i: usize| if c[i].is_empty() { "?".to_owned() } else { figure(&c[i], 3) };
        let both = |i: usize| {
            if k[i].is_empty() { col(i) } else { format!("{} ({:.3})", col(i), median(&k[i])) }
        };
        println!("| {} | {} | {} | {} |", row.label(), both(0), both(1), col(2));
    }
}

/// (MiB/s, cores busy) of each run of one way to upload.
type UploadRuns = Vec<(f64, f64)>;

/// One 256 MiB file, uploaded in process by one `put_object` stream and by `upload_file_with`
/// (default `TransferConfig`: 8 MiB parts, 10 at once) into a fresh store per run (removed after
/// it, to bound the disk used); the two take turns going first. Returns (MiB/s, cores busy) per run
/// of each.
fn file_upload(dir: &Path, runs: usize) -> Res<(UploadRuns, UploadRuns)> {
    let file = dir.join("upload.bin");
    std::fs::write(&file, payload(FILE_BYTES, 0xf11e))?;
    let mib = (FILE_BYTES >> 20) as f64;
    let (mut one, mut parts) = (vec![], vec![]);
    for run in 0..=runs {
        let path = dir.join(format!("s3lite-upload-{run}"));
        let store = Store::builder(&path).open()?;
        let client = store.client();
        client.create_bucket().bucket(BUCKET).send()?;
        // MiB/s, and the cores kept busy (process CPU time over wall time).
        let timed = |f: &dyn Fn() -> Res<()>| -> Res<(f64, f64)> {
            let cpu = process_cpu();
            let started = Instant::now();
            f()?;
            let wall = started.elapsed().as_secs_f64();
            let cores = match (cpu, process_cpu()) {
                (Some(a), Some(b)) => (b.0 - a.0).as_secs_f64() / wall,
                _ => f64::NAN,
            };
            Ok((mib / wall, cores))
        };
        let put = || {
            timed(&|| {
                client.put_object().bucket(BUCKET).key("one-stream").body(Body::from_path(&file)).send()?;
                Ok(())
            })
        };
        let upload = || {
            timed(&|| {
                client.upload_file_with(
                    &file,
                    BUCKET,
                    "in-parts",
                    &ExtraArgs::default(),
                    &TransferConfig::default(),
                )?;
                Ok(())
            })
        };
        let (a, b) = if run % 2 == 0 { (put()?, upload()?) } else { (upload()?, put()?) };
        let (p, u) = if run % 2 == 0 { (a, b) } else { (b, a) };
        // Run 0 is the warm-up.
        if run > 0 {
            one.push(p);
            parts.push(u);
        }
        store.close()?;
        std::fs::remove_dir_all(&path)?;
    }
    std::fs::remove_file(&file)?;
    Ok((one, parts))
}

/// The two uploads' rates and the cores each kept busy, and what the machine's cores allow: a
/// CPU-bound upload in parts can at best keep every core as busy as one stream keeps its share.
fn print_upload(one: &[(f64, f64)], parts: &[(f64, f64)]) {
    let rate = |v: &[(f64, f64)]| v.iter().map(|x| x.0).collect::<Vec<_>>();
    let cores = |v: &[(f64, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
    let ratios: Vec<f64> = parts.iter().zip(one).map(|(u, p)| u.0 / p.0).collect();
    let machine = std::thread::available_parallelism().map_or(f64::NAN, |n| n.get() as f64);
    let ceiling: Vec<f64> = one.iter().map(|p| machine / p.1).collect();
    println!();
    println!("| in process, 256 MiB file | MiB/s | cores busy |");
    println!("|---|---|---|");
    println!("| one `put_object` stream | {} | {} |", figure(&rate(one), 0), figure(&cores(one), 2));
    println!(
        "| `upload_file` (8 MiB parts, 10 at once) | {} | {} |",
        figure(&rate(parts), 0),
        figure(&cores(parts), 2)
    );
    println!("| upload_file / put_object | {} × | |", figure(&ratios, 2));
    println!("| ceiling: {machine} cores / one stream's cores busy | {} × | |", figure(&ceiling, 2));
}
