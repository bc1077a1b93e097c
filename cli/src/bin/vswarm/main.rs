//! The `vswarm` command: parses the arguments, runs the library's operation, renders its result
//! (text or JSON), its progress and its errors. Exit status: 0 done, 1 failed, 2 bad input,
//! 130 interrupted; `ssh` and `scp` pass their own through.

mod args;
mod progress;
mod render;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use vswarm::error::{Error, Result};
use vswarm::ops::access::External;
use vswarm::ops::machines::Power;
use vswarm::ops::stacks::ResolveImage;
use vswarm::ops::{self, Session, Target};
use vswarm::shell::Shell;

use args::{Cli, Command, Format, ImagesCommand, StackCommand};
use progress::Progress;

/// What a command leaves to do once the async work is over.
enum Done {
    Exit(u8),
    Run(External),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    init_logging(cli.verbose);
    swarm_bootstrap::engine::install_crypto_provider();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(!no_color && std::io::stderr().is_terminal())
                .build(),
        )
    }));
    let progress =
        Progress::new(cli.quiet || cli.format == Format::Json && !std::io::stderr().is_terminal());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            r = run(&cli, &progress) => r,
            _ = interrupted() => Err(Error::Interrupted { command: command_name(&cli.command).to_string() }),
        }
    });
    progress.finish();
    // Work still under way (an SSH handshake on a blocking thread) is abandoned, not awaited.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(Done::Exit(code)) => ExitCode::from(code),
        Ok(Done::Run(external)) => run_external(&external),
        Err(e) => {
            let code = e.exit_code();
            let text = format!("{:?}", miette::Report::new(e));
            eprintln!("{}", vswarm::redact::redact(&text));
            ExitCode::from(code as u8)
        }
    }
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Logs go to standard error through the redacting writer, whatever their level.
fn init_logging(verbose: u8) {
    let filter = match std::env::var("VSWARM_LOG") {
        Ok(f) if !f.is_empty() => f,
        _ => match verbose {
            0 => "warn".to_string(),
            1 => "warn,vswarm=info,vbox_driver=info,swarm_bootstrap=info,images=info".to_string(),
            2 => {
                "info,vswarm=debug,vbox_driver=debug,swarm_bootstrap=debug,images=debug".to_string()
            }
            _ => "trace".to_string(),
        },
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(vswarm::redact::RedactedStderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Up { .. } => "up",
        Command::Down => "down",
        Command::Ls => "ls",
        Command::Env(_) => "env",
        Command::Ssh { .. } => "ssh",
        Command::Scp { .. } => "scp",
        Command::Ip { .. } => "ip",
        Command::Inspect { .. } => "inspect",
        Command::Start { .. } => "start",
        Command::Stop { .. } => "stop",
        Command::Restart { .. } => "restart",
        Command::Kill { .. } => "kill",
        Command::Rm { .. } => "rm",
        Command::RegenerateCerts { .. } => "regenerate-certs",
        Command::Stack(_) => "stack",
        Command::Images(_) => "images",
        Command::Import { .. } => "import",
        Command::Doctor { .. } => "doctor",
        Command::Completion { .. } => "completion",
    }
}

async fn run(cli: &Cli, progress: &Progress) -> Result<Done> {
    let target = match (&cli.file, &cli.cluster) {
        (Some(f), _) => Target::File(f.clone()),
        (None, Some(c)) => Target::Named(c.clone()),
        (None, None) => Target::Here,
    };
    if let Command::Completion { shell } = &cli.command {
        clap_complete::generate(
            *shell,
            &mut Cli::command(),
            "vswarm",
            &mut std::io::stdout(),
        );
        return Ok(Done::Exit(0));
    }
    let session = Session::new(progress)?;
    let format = cli.format;
    match &cli.command {
        Command::Up { keep_on_failure } => {
            let spec = session.spec_for_up(&target)?;
            let options = ops::up::UpOptions {
                keep_on_failure: *keep_on_failure,
            };
            let report = ops::up::up(&session, &spec, &options).await?;
            progress.finish();
            if !cli.quiet || format == Format::Json {
                render::up(&report, format);
            }
        }
        Command::Down => {
            let report = ops::down::down(&session, &target).await?;
            if format == Format::Json {
                render::json(&report);
            } else if !report.cluster.is_empty() {
                println!("cluster {} is down", report.cluster);
            }
        }
        Command::Ls => {
            let all = target == Target::Here
                && !std::path::Path::new(vswarm::cluster::DEFAULT_FILE).exists();
            let listings = ops::access::ls(&session, &target).await?;
            render::ls(&listings, all, format, cli.quiet);
        }
        Command::Env(a) => {
            let shell = a.shell.unwrap_or_else(Shell::detect);
            if a.unset {
                print!("{}", shell.unset_script());
            } else {
                let vars = ops::access::env(&session, &target, a.node.as_deref())?;
                if format == Format::Json {
                    let map: serde_json::Map<String, serde_json::Value> = vars
                        .iter()
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                        .collect();
                    render::json(&map);
                } else {
                    let args = match &a.node {
                        Some(n) => format!("env {n}"),
                        None => "env".to_string(),
                    };
                    print!("{}", shell.script(&vars, &args));
                }
            }
        }
        Command::Ssh { node, command } => {
            let external = ops::access::ssh(&session, &target, node, command).await?;
            return Ok(Done::Run(external));
        }
        Command::Scp { recursive, paths } => {
            let external = ops::access::scp(&session, &target, paths, *recursive).await?;
            return Ok(Done::Run(external));
        }
        Command::Ip { node } => {
            let ip = ops::access::ip(&session, &target, node).await?;
            if format == Format::Json {
                render::json(&serde_json::json!({ "node": node, "ip": ip }));
            } else {
                println!("{ip}");
            }
        }
        Command::Inspect { node } => {
            let inspection = ops::access::inspect(&session, &target, node).await?;
            render::json(&inspection);
        }
        Command::Start { nodes } => power(&session, &target, nodes, Power::Start, format).await?,
        Command::Stop { nodes } => power(&session, &target, nodes, Power::Stop, format).await?,
        Command::Restart { nodes } => {
            power(&session, &target, nodes, Power::Restart, format).await?
        }
        Command::Kill { nodes } => power(&session, &target, nodes, Power::Kill, format).await?,
        Command::Rm { node, force } => {
            let change = ops::machines::rm(&session, &target, node, *force).await?;
            if format == Format::Json {
                render::json(&change);
            } else {
                println!("{} removed", change.node);
            }
        }
        Command::Import {
            machines,
            storage_path,
            name,
        } => {
            let store = match storage_path {
                Some(p) => p.clone(),
                None => std::env::home_dir()
                    .map(|home| home.join(".docker/machine"))
                    .ok_or_else(|| {
                        Error::message("finding docker-machine's store", "no home folder")
                            .with_help("name the store with --storage-path")
                    })?,
            };
            let options = ops::import::ImportOptions {
                store,
                machines: machines.clone(),
                cluster: name.clone(),
                file: cli
                    .file
                    .clone()
                    .unwrap_or_else(|| vswarm::cluster::DEFAULT_FILE.into()),
            };
            let report = ops::import::import(&session, &options).await?;
            if format == Format::Json {
                render::json(&report);
            } else {
                for a in &report.adopted {
                    println!("{}: adopted ({}, {}, VM {})", a.node, a.role, a.ip, a.vm);
                }
                for s in &report.skipped {
                    println!("{}: not adopted: {}", s.machine, s.why);
                }
                println!(
                    "cluster {} written to {}: `vswarm -f {} up` now manages it",
                    report.cluster,
                    report.file.display(),
                    report.file.display()
                );
            }
        }
        Command::RegenerateCerts {
            nodes,
            restart_docker,
        } => {
            let report = ops::certs::regenerate(&session, &target, nodes, *restart_docker).await?;
            if format == Format::Json {
                render::json(&report);
            } else {
                for n in &report.nodes {
                    println!("{}: new certificate, served {}", n.node, n.served);
                }
                if let Some(expires) = &report.client_certificate_expires {
                    println!("client certificate: new, valid until {expires}");
                }
            }
        }
        Command::Stack(StackCommand::Deploy {
            compose_file,
            prune,
            resolve_image,
            with_registry_auth,
            detach,
            name,
        }) => {
            let how = ops::stacks::DeployHow {
                prune: *prune,
                resolve_image: match resolve_image {
                    args::ResolveImageArg::Always => ResolveImage::Always,
                    args::ResolveImageArg::Changed => ResolveImage::Changed,
                    args::ResolveImageArg::Never => ResolveImage::Never,
                },
                with_registry_auth: *with_registry_auth,
                detach: *detach,
            };
            let deployed = ops::stacks::deploy(&session, &target, name, compose_file, &how).await?;
            if format == Format::Json {
                render::json(&deployed);
            } else {
                println!(
                    "stack {}: {} created, {} updated, {} unchanged",
                    deployed.name,
                    deployed.created.len(),
                    deployed.updated.len(),
                    deployed.unchanged.len()
                );
            }
        }
        Command::Stack(StackCommand::Ls) => {
            let stacks = ops::stacks::ls(&session, &target).await?;
            if format == Format::Json {
                render::json(&stacks);
            } else {
                let rows: Vec<Vec<String>> = stacks
                    .iter()
                    .map(|s| vec![s.name.clone(), s.services.to_string()])
                    .collect();
                render::table(&["NAME", "SERVICES"], &rows);
            }
        }
        Command::Stack(StackCommand::Rm { name }) => {
            ops::stacks::rm(&session, &target, name).await?;
            if format != Format::Json {
                println!("stack {name} removed");
            }
        }
        Command::Images(ImagesCommand::Ls) => {
            let images = ops::images::list(&session)?;
            if format == Format::Json {
                render::json(&images);
            } else {
                let rows: Vec<Vec<String>> = images
                    .iter()
                    .map(|i| {
                        vec![
                            i.version.clone().unwrap_or_else(|| i.volume_id.clone()),
                            format!("{} MB", i.size >> 20),
                            i.path.display().to_string(),
                        ]
                    })
                    .collect();
                render::table(&["VERSION", "SIZE", "PATH"], &rows);
            }
        }
        Command::Images(ImagesCommand::Pull { source, sha256 }) => {
            let image = ops::images::pull(
                &session,
                source.as_deref(),
                sha256.as_deref(),
                images::PullPolicy::CheckForNewer,
            )
            .await?;
            if format == Format::Json {
                render::json(&image);
            } else {
                println!("{}", image.path.display());
            }
        }
        Command::Images(ImagesCommand::Rm { image }) => {
            let removed = ops::images::remove(&session, image)?;
            if format == Format::Json {
                render::json(&removed);
            } else {
                for i in removed {
                    println!("removed {}", i.path.display());
                }
            }
        }
        Command::Doctor { fix } => {
            let report = ops::doctor::doctor(&session, &target, *fix).await;
            progress.finish();
            render::doctor(&report, format);
            return Ok(Done::Exit(if report.failed() { 1 } else { 0 }));
        }
        Command::Completion { .. } => {}
    }
    Ok(Done::Exit(0))
}

async fn power(
    session: &Session<'_>,
    target: &Target,
    nodes: &[String],
    what: Power,
    format: Format,
) -> Result<()> {
    let changes = ops::machines::power(session, target, nodes, what).await?;
    if format == Format::Json {
        render::json(&changes);
    } else {
        for c in changes {
            match &c.ip {
                Some(ip) => println!("{} {} ({ip})", c.node, c.action),
                None => println!("{} {}", c.node, c.action),
            }
        }
    }
    Ok(())
}

/// Runs `ssh` or `scp` in the foreground; its exit status is vswarm's.
fn run_external(external: &External) -> ExitCode {
    match std::process::Command::new(&external.program)
        .args(&external.args)
        .status()
    {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(code as u8),
            None => ExitCode::from(1),
        },
        Err(e) => {
            eprintln!(
                "error: cannot run `{}`: {e}\n  help: vswarm ssh and scp use OpenSSH's client: install it (Debian: apt install openssh-client)",
                external.program
            );
            ExitCode::from(1)
        }
    }
}
