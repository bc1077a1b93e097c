//! Results as text for people or JSON for scripts (on stdout).

use serde::Serialize;
use vswarm::ops::access::ClusterListing;
use vswarm::ops::doctor::{DoctorReport, Status};
use vswarm::ops::up::UpReport;

use crate::args::Format;

/// Prints `value` as JSON.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot render the result as JSON: {e}"),
    }
}

/// A table with left-aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

pub fn up(report: &UpReport, format: Format) {
    if format == Format::Json {
        return json(report);
    }
    println!("cluster {} is up in {:.1}s", report.cluster, report.seconds);
    let rows: Vec<Vec<String>> = report
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                n.role.to_string(),
                n.state.to_string(),
                n.ip.clone(),
                n.docker_host.clone(),
            ]
        })
        .collect();
    table(&["NAME", "ROLE", "STATE", "IP", "DOCKER"], &rows);
    let ports: Vec<_> = report.stacks.iter().flat_map(|s| &s.ports).collect();
    if !ports.is_empty() {
        println!("\nPublished ports:");
        for p in ports {
            let urls = if p.urls.is_empty() {
                format!("(no HTTP answer on {} nodes probed)", p.probed)
            } else {
                p.urls.join("  ")
            };
            println!(
                "  {}  {}/{} ({})  {urls}",
                p.service, p.port, p.protocol, p.mode
            );
        }
    }
    println!(
        "\nPoint the docker CLI at it:  eval $(vswarm env {}){}",
        report.leader,
        report
            .context
            .as_ref()
            .map(|c| format!("   or   docker --context {c} ..."))
            .unwrap_or_default()
    );
}

pub fn ls(listings: &[ClusterListing], all: bool, format: Format, quiet: bool) {
    if format == Format::Json {
        return match (all, listings) {
            (false, [one]) => json(one),
            _ => json(&serde_json::json!({ "clusters": listings })),
        };
    }
    if quiet {
        for c in listings {
            for n in &c.nodes {
                println!("{}", n.name);
            }
        }
        return;
    }
    if listings.is_empty() {
        println!("no clusters: `vswarm up` creates one");
        return;
    }
    let rows: Vec<Vec<String>> = listings
        .iter()
        .flat_map(|c| {
            c.nodes.iter().map(|n| {
                vec![
                    c.cluster.clone(),
                    n.name.clone(),
                    n.role.to_string(),
                    n.state.to_string(),
                    n.ip.clone().unwrap_or_else(|| "-".into()),
                    n.docker_host.clone().unwrap_or_else(|| "-".into()),
                ]
            })
        })
        .collect();
    table(&["CLUSTER", "NAME", "ROLE", "STATE", "IP", "DOCKER"], &rows);
}

pub fn doctor(report: &DoctorReport, format: Format) {
    if format == Format::Json {
        return json(report);
    }
    for c in &report.checks {
        let mark = match c.status {
            Status::Ok => console::style("✔").green(),
            Status::Warn => console::style("!").yellow(),
            Status::Fail => console::style("✖").red(),
        };
        println!("{mark} {}: {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            println!("    fix: {fix}");
        }
    }
    for f in &report.fixed {
        println!("fixed: {f}");
    }
}
