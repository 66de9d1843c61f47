//! A child process writes with `Immediate` durability and reports each acknowledgement on stdout;
//! the parent kills it with SIGKILL at a random moment, reopens the store, and checks every
//! acknowledged write. The child is this test binary run again with `S3LITE_KILL_DIR` set.
//! A few kills by default; `cargo test --release --test process_kill -- --ignored --nocapture`
//! runs 200 and prints the child's open time every 10th round.
//!
//! The random kill delay starts when the child says `READY`, not when it is spawned: every open
//! scans every segment, so opening takes longer each round as the store grows, and a delay that
//! included the open would end up killing children that had not yet written anything.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{body, read};
use rand::{Rng, SeedableRng};
use s3lite::{PutOptions, Store};

const CHILD_ENV: &str = "S3LITE_KILL_DIR";

/// How long a child may take to open the store and create its bucket before the round fails. Far
/// above the open times of a 200-round run, so only a hang (or a pathologically slow open) trips it.
const OPEN_DEADLINE: Duration = Duration::from_secs(120);

/// The kill comes this long after the child is ready (ms, drawn uniformly).
const KILL_DELAY_MS: std::ops::Range<u64> = 150..600;

fn size_of(i: u64) -> usize {
    [10usize, 3000, 40_000, 300_000][(i % 4) as usize]
}

/// The child's entry point: does nothing unless started by the parent below.
#[test]
#[ignore = "entry point of the child process of the kill tests"]
fn kill_child_entry() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let round: u64 = std::env::var("S3LITE_KILL_ROUND").unwrap().parse().unwrap();
    let started = Instant::now();
    let store = Store::builder(&dir)
        .partitions(4)
        .segment_bytes(1 << 20)
        .inline_bytes(4096)
        .chunk_bytes(65536)
        .open()
        .unwrap();
    let open_ms = started.elapsed().as_millis();
    let b = match store.bucket("b") {
        Ok(info) => info.id,
        Err(_) => store.create_bucket("b").unwrap(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {open_ms}").unwrap();
    out.flush().unwrap();
    for i in 0.. {
        let key = format!("r{round}-k{i}");
        store.put_bytes(b, &key, &body(round * 1_000_000 + i, size_of(i)), &PutOptions::default()).unwrap();
        writeln!(out, "ACK {round} {i}").unwrap();
        out.flush().unwrap();
    }
}

/// A line of the child's stdout that the parent cares about.
enum Report {
    /// The store is open (after this many ms of `Store::open`) and the bucket exists.
    Ready(u64),
    /// Key `r<round>-k<i>` is durable.
    Ack(u64, u64),
}

fn parse_report(line: &str) -> Option<Report> {
    // libtest prints its own "test ... " prefix on the first line, so look inside the line.
    if let Some(at) = line.find("READY ") {
        return Some(Report::Ready(line[at + 6..].trim().parse().expect("READY <ms>")));
    }
    let rest = &line[line.find("ACK ")? + 4..];
    let mut it = rest.split(' ').map(|x| x.parse::<u64>().expect("ACK <round> <i>"));
    Some(Report::Ack(it.next()?, it.next()?))
}

fn spawn_child(
    path: &std::path::Path,
    round: u64,
) -> (Child, mpsc::Receiver<Report>, std::thread::JoinHandle<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "kill_child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .env("S3LITE_KILL_ROUND", round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(report) = parse_report(&line)
                && tx.send(report).is_err()
            {
                break;
            }
        }
    });
    // Kept so that a child that dies before READY can say why.
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    (child, rx, errors)
}

/// What a run of kill rounds saw.
struct KillRun {
    rounds: u64,
    acks: u64,
    /// The child's `Store::open` time of each round, in ms.
    open_ms: Vec<u64>,
}

fn kill_rounds(rounds: u64, seed: u64) -> KillRun {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acked: Vec<(u64, u64)> = Vec::new();
    let mut open_ms = Vec::new();
    for round in 0..rounds {
        let (mut child, reports, errors) = spawn_child(&path, round);
        let opened = match reports.recv_timeout(OPEN_DEADLINE) {
            Ok(Report::Ready(ms)) => ms,
            Ok(Report::Ack(..)) => panic!("seed {seed} round {round}: ACK before READY"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!(
                    "seed {seed} round {round}: the child did not open the store within {OPEN_DEADLINE:?} \
                     (previous opens, ms: {open_ms:?})"
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().unwrap();
                panic!(
                    "seed {seed} round {round}: the child exited ({status}) before opening the store:\n{}",
                    errors.join().unwrap()
                );
            }
        };
        open_ms.push(opened);
        std::thread::sleep(Duration::from_millis(rng.random_range(KILL_DELAY_MS)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        // The child writes until it is killed; one that ended on its own failed.
        if status.signal() != Some(9) {
            panic!(
                "seed {seed} round {round}: the child ended before the kill ({status}):\n{}",
                errors.join().unwrap()
            );
        }
        // The reader thread ends at the child's EOF, which closes the channel.
        for report in reports {
            match report {
                Report::Ack(r, i) => acked.push((r, i)),
                Report::Ready(_) => panic!("seed {seed} round {round}: a second READY"),
            }
        }
        let _ = errors.join();
        let store =
            Store::builder(&path).open().unwrap_or_else(|e| panic!("seed {seed} round {round}: reopen: {e}"));
        let b = store.bucket("b").unwrap().id;
        for &(r, i) in &acked {
            let got = read(&store, b, &format!("r{r}-k{i}"))
                .unwrap_or_else(|e| panic!("seed {seed}: r{r}-k{i} acknowledged but {e}"));
            assert_eq!(got, body(r * 1_000_000 + i, size_of(i)), "seed {seed}: r{r}-k{i} differs");
        }
        if round % 10 == 9 {
            println!(
                "round {}: child opened the store in {opened} ms (max so far {} ms); {} acknowledged writes checked",
                round + 1,
                open_ms.iter().max().unwrap(),
                acked.len()
            );
        }
    }
    KillRun { rounds, acks: acked.len() as u64, open_ms }
}

fn report(run: &KillRun) {
    let (first, last) = (run.open_ms[0], run.open_ms[run.open_ms.len() - 1]);
    let max = run.open_ms.iter().max().unwrap();
    println!(
        "process kills: {}, acknowledged writes checked: {}; child open ms: first {first}, last {last}, max {max}",
        run.rounds, run.acks
    );
}

#[test]
fn killed_writers_lose_no_acknowledged_write() {
    let run = kill_rounds(4, 1);
    report(&run);
    assert!(run.acks > 0, "the children acknowledged nothing");
}

#[test]
#[ignore = "long run: cargo test --release --test process_kill -- --ignored --nocapture killed_writers_many"]
fn killed_writers_many() {
    let run = kill_rounds(200, 7);
    report(&run);
    assert!(run.acks > 0, "the children acknowledged nothing");
}
