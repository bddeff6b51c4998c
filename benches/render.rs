//! `cargo bench --bench render`: time and peak memory of rendering a Change with 1 to
//! 10,000 repositories, one Job per repository and as Indexed Jobs, to a YAML stream and
//! to a directory; the time `kubectl kustomize` (what Argo CD and Flux run) takes on that
//! directory; and the time it takes to refuse hostile input. Prints figures; it asserts
//! nothing about speed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bca::render::{self, Input, RenderOptions};

fn change_text(repos: usize) -> String {
    let mut text = String::from("kind: Change\napiVersion: v1\nspec:\n  prompt: \"Bump the logging library and fix call sites\"\n  agent: copilot-cli\n  repos:\n");
    for i in 0..repos {
        text.push_str(&format!("    - https://github.com/org{}/service-{i}\n", i % 97));
    }
    text
}

/// Peak resident memory of this process since the last reset, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure(runs: usize, mut f: impl FnMut()) -> (Duration, Option<u64>) {
    reset_peak_rss();
    let before = peak_rss_kib();
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f();
        samples.push(start.elapsed());
    }
    let grown = peak_rss_kib().zip(before).map(|(after, before)| after.saturating_sub(before));
    (median(samples), grown)
}

/// Reads (bounded, as `bca validate` does) and parses `bytes`, which must be refused.
fn refuse(path: &std::path::Path, bytes: &[u8]) -> Duration {
    std::fs::write(path, bytes).expect("write");
    let start = Instant::now();
    let source = bca::change::Source::read(path).expect("readable");
    assert!(bca::change::parse("hostile.yaml", &source.bytes).is_err(), "hostile input was accepted");
    start.elapsed()
}

fn hostile(scratch: &std::path::Path) {
    let path = scratch.join("hostile.yaml");
    let mut laughs = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
        let prev = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
        laughs.push_str(&format!("{name}: &{name} [{}]\n", vec![format!("*{prev}"); 9].join(",")));
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("100 MB file", vec![b'#'; 100 << 20]),
        ("billion laughs", laughs.into_bytes()),
        ("5,000-deep flow nesting", format!("k: {}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes()),
        ("binary garbage (1 MB)", (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
    ];
    println!("\n{:<26}  {:>12}", "hostile input", "refused in");
    for (name, bytes) in cases {
        println!("{name:<26}  {:>10.2?}", refuse(&path, &bytes));
    }
}

/// Seconds `kubectl kustomize DIR` takes, or why it was not measured.
fn kustomize_time(dir: &std::path::Path) -> String {
    let start = Instant::now();
    match std::process::Command::new("kubectl").arg("kustomize").arg(dir).output() {
        Ok(out) if out.status.success() => format!("{:.2?}", start.elapsed()),
        Ok(_) => "failed".into(),
        Err(_) => "no kubectl".into(),
    }
}

fn main() {
    let scratch = tempfile::tempdir().expect("tempdir");
    println!(
        "{:<22} {:>7}  {:>10}  {:>12}  {:>12}  {:>10}  {:>12}  {:>10}",
        "mode", "repos", "parse", "render+yaml", "stdout bytes", "to dir", "kustomize", "peak +KiB"
    );
    let modes: [(&str, Option<u32>); 2] = [("one Job per repository", None), ("Indexed, parallelism 50", Some(50))];
    for (mode, parallelism) in modes {
        for repos in [1usize, 100, 1_000, 10_000] {
            let text = change_text(repos);
            let runs = if repos >= 10_000 {
                3
            } else if repos >= 1_000 {
                5
            } else {
                20
            };
            let (parse_time, _) = measure(runs, || {
                bca::change::parse("bench.yaml", text.as_bytes()).expect("valid change");
            });
            let change = bca::change::parse("bench.yaml", text.as_bytes()).expect("valid change");
            let options = RenderOptions { parallelism, allow_many_jobs: true, ..RenderOptions::default() };
            let inputs = [Input { file: "bench.yaml", change: &change }];
            let mut bytes = 0;
            let (render_time, peak) = measure(runs, || {
                let rendered = render::render(&inputs, &options, &|_| None).expect("renders");
                bytes = render::to_stream(&rendered.manifests).len();
            });
            let rendered = render::render(&inputs, &options, &|_| None).expect("renders");
            let dir: PathBuf = scratch.path().join(format!("out-{repos}-{}", parallelism.unwrap_or(0)));
            let (dir_time, _) = measure(runs, || {
                let settings = bca::output::settings::Settings::current(
                    Default::default(),
                    bca::output::settings::Holds::Changes(Vec::new()),
                );
                bca::output::write_dir(&dir, &rendered.manifests, &settings, false).expect("writes");
            });
            // Thousands of Jobs take kustomize minutes (the reason for Indexed Jobs).
            let kustomize =
                if parallelism.is_none() && repos > 1_000 { "skipped".into() } else { kustomize_time(&dir) };
            println!(
                "{mode:<22} {repos:>7}  {:>10.2?}  {:>12.2?}  {bytes:>12}  {:>10.2?}  {kustomize:>12}  {:>10}",
                parse_time,
                render_time,
                dir_time,
                peak.map_or("n/a".to_string(), |p| p.to_string())
            );
        }
    }
    hostile(scratch.path());
}
