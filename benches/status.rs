//! `cargo bench --bench status`: `bca status`'s read of 1,000 and 10,000 repositories
//! against the GitHub stand-in with 150 ms added to every answer (a real network's
//! latency to api.github.com): requests made, GraphQL points spent, wall time. Beside
//! it, what the REST read it replaced needed (four requests per repository with an
//! open pull request, eight at a time). Prints figures; it asserts nothing about speed.

#[path = "../runner/tests/support/github.rs"]
mod github;

use std::time::{Duration, Instant};

use bca::status::{self, Target};
use bca_codehost::{Endpoint, Head, Repository, Secret};

const TOKEN: &str = "ghp_bench_token_0123456789";
const BRANCH: &str = "bca/bump-logging";
const LATENCY: Duration = Duration::from_millis(150);

fn main() {
    println!("| repositories | requests | GraphQL points | wall time | REST read before: requests | REST wall time (estimated) |");
    println!("|---|---|---|---|---|---|");
    for repos in [1_000, 10_000] {
        let gh = github::GitHub::start(TOKEN, "bca-bot");
        let mut targets = Vec::new();
        for i in 0..repos {
            let name = format!("fleet/svc-{i:05}");
            gh.add_api_repo(&name);
            gh.add_api_pull(&name, "bca-bot", BRANCH, &format!("{i:040x}"));
            targets.push(Target {
                repository: Repository::parse(&format!("https://github.com/{name}")).unwrap(),
                head: Head::new("bca-bot", BRANCH),
                change: "bump-logging".into(),
                merge: Default::default(),
            });
        }
        gh.set_latency(LATENCY);
        let endpoint = Endpoint::for_host("github.com", Some(gh.url.clone())).unwrap();
        let token = Secret::from_env(TOKEN, "GITHUB_TOKEN");
        let host = bca_codehost::connect(&endpoint, &token);
        let started = Instant::now();
        let rows = status::read(host.as_ref(), &targets, &mut |_| {}).unwrap();
        let took = started.elapsed();
        assert_eq!(rows.len(), repos);
        let cost = host.spent();
        // Before: pull requests by head, check runs, combined status and reviews for each.
        let rest = 4 * repos as u64;
        let rest_time = LATENCY * (rest as u32) / 8;
        println!(
            "| {repos} | {} | {} | {:.1} s | {rest} | {:.0} s |",
            cost.requests,
            cost.graphql_points,
            took.as_secs_f64(),
            rest_time.as_secs_f64()
        );
    }
}
