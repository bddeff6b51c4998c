//! `cargo bench --bench resolve`: `bca resolve` of an organisation of 1,000 and 10,000
//! repositories with a `hasFiles` selector, against the GitHub stand-in with 150 ms added
//! to every answer: requests made, GraphQL points spent, wall time. Prints figures; it
//! asserts nothing about speed.

#[path = "../runner/tests/support/github.rs"]
mod github;

use std::time::{Duration, Instant};

use bca_codehost::{Endpoint, Secret};

const TOKEN: &str = "ghp_bench_token_0123456789";
const LATENCY: Duration = Duration::from_millis(150);
const CHANGE: &str = "kind: Change\napiVersion: v1\nspec:\n  prompt: Bump Go\n  agent: codex-cli\n  select:\n    owners: [fleet]\n    hasFiles: [go.mod]\n";

fn main() {
    let change = bca::change::parse("change.yaml", CHANGE.as_bytes()).expect("the bench's Change is valid");
    let select = change.spec.select.expect("it selects");
    println!("| repositories | selected | requests | GraphQL points | wall time |");
    println!("|---|---|---|---|---|");
    for repos in [1_000, 10_000] {
        let gh = github::GitHub::start(TOKEN, "bca-bot");
        gh.add_org("fleet");
        for i in 0..repos {
            let name = format!("fleet/svc-{i:05}");
            gh.add_api_repo(&name);
            // Every other one is a Go module.
            let files: &[&str] = if i % 2 == 0 { &["go.mod", "main.go"] } else { &["package.json"] };
            gh.set_files(&name, "main", files);
        }
        gh.set_latency(LATENCY);
        let endpoint = Endpoint::for_host("github.com", Some(gh.url.clone())).unwrap();
        let token = Secret::from_env(TOKEN, "GITHUB_TOKEN");
        let host = bca_codehost::connect(&endpoint, &token);
        let started = Instant::now();
        let lock = bca::resolve::resolve(host.as_ref(), &select, "github.com", &mut |_, _| {}).unwrap();
        let took = started.elapsed();
        let cost = host.spent();
        println!(
            "| {repos} | {} | {} | {} | {:.1} s |",
            lock.repositories.len(),
            cost.requests,
            cost.graphql_points,
            took.as_secs_f64()
        );
    }
}
