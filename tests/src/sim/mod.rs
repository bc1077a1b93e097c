//! The `VBoxManage` simulator.
//!
//! [`run`] takes VBoxManage's arguments and gives back what real VirtualBox would print and its
//! exit status. State lives in the registry under `$VBOX_USER_HOME` ([`state`]); host-only
//! interfaces are real Linux bridges ([`hostnet`]); running VMs are `VBoxHeadless` processes
//! whose guests are real Linux namespaces ([`crate::vmproc`]).

pub mod errors;
pub mod getopt;
pub mod hostnet;
pub mod hostonlynet;
pub mod info;
pub mod list;
pub mod media;
pub mod net;
pub mod state;
pub mod usage;
pub mod version;
pub mod vm;
pub mod vmdk;

use std::path::PathBuf;
use std::time::Duration;

use errors::{Outcome, SimResult, Syntax, VBoxError, syntax_error};
use state::LockedRegistry;
use version::SimVersion;

/// One invocation's view of the simulated VirtualBox installation.
pub struct Sim {
    pub version: SimVersion,
    pub home: PathBuf,
}

/// The host OS a VirtualBox build runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostOs {
    Linux,
    Darwin,
    Windows,
}

impl Sim {
    pub fn from_env() -> Result<Sim, String> {
        Ok(Sim {
            version: SimVersion::from_env()?,
            home: state::vbox_user_home(),
        })
    }

    /// The host OS the simulator stands for (`VBOXSIM_HOST_OS`: `linux`, the default,
    /// `darwin` or `windows`): VirtualBox's builds differ by host.
    pub fn host_os(&self) -> HostOs {
        match std::env::var("VBOXSIM_HOST_OS")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "darwin" | "macos" => HostOs::Darwin,
            "windows" => HostOs::Windows,
            _ => HostOs::Linux,
        }
    }

    /// A build with Apple's vmnet (VBOX_WITH_VMNET: VirtualBox 7 on macOS): host-only networks
    /// instead of host-only adapters.
    pub fn vmnet(&self) -> bool {
        self.host_os() == HostOs::Darwin && self.version.major >= 7
    }

    /// Locks and reads the registry.
    pub fn registry(&self) -> SimResult<LockedRegistry> {
        LockedRegistry::open(&self.home).map_err(|e| internal(&format!("registry: {e}")))
    }

    pub fn syntax(&self, usage_of: &str, what: Syntax) -> VBoxError {
        syntax_error(&self.version, usage_of, what)
    }

    pub fn getopt(
        &self,
        usage_of: &str,
        args: &[String],
        specs: &[getopt::Spec],
    ) -> SimResult<Vec<getopt::Arg>> {
        getopt::getopt(args, specs).map_err(|e| match e {
            getopt::GetOptError::Unknown(o) => self.syntax(usage_of, Syntax::UnknownOption(o)),
            getopt::GetOptError::MissingValue(o) => self.syntax(
                usage_of,
                Syntax::Message(format!("Missing value for option '{o}'")),
            ),
        })
    }
}

/// An error of the simulator itself (not of the emulated VirtualBox): exit 1 with the reason.
pub fn internal(msg: &str) -> VBoxError {
    errors::plain_error(&[msg])
}

/// Runs one VBoxManage command line (without the program name).
pub fn run(sim: &Sim, argv: &[String]) -> Outcome {
    match dispatch(sim, argv) {
        Ok(o) => o,
        Err(e) => e.into(),
    }
}

fn dispatch(sim: &Sim, argv: &[String]) -> SimResult {
    // Global options come first.
    let mut i = 0;
    while i < argv.len() {
        match argv[i].as_str() {
            "-q" | "--nologo" => i += 1,
            "--settingspw" => i += 2,
            "--settingspwfile" => i += 2,
            _ => break,
        }
    }
    let argv = &argv[i.min(argv.len())..];
    let Some(cmd) = argv.first() else {
        return Err(sim.syntax("", Syntax::Message("No command specified".into())));
    };
    let args = &argv[1..];
    const NEED_ARGS: &[&str] = &[
        "showvminfo",
        "createvm",
        "modifyvm",
        "storagectl",
        "storageattach",
        "startvm",
        "controlvm",
        "unregistervm",
        "guestproperty",
        "sharedfolder",
        "setextradata",
        "getextradata",
        "createmedium",
        "createhd",
        "convertfromraw",
        "closemedium",
        "hostonlyif",
        "dhcpserver",
        "hostonlynet",
    ];
    if args.is_empty() && NEED_ARGS.contains(&cmd.as_str()) {
        return Err(errors::bare_usage(&sim.version, cmd));
    }
    match injected_failure(sim, argv)? {
        Some(Injected::Fail(err)) => return Err(err),
        // VirtualBox's bug: the operation is done, and an error is reported all the same.
        Some(Injected::DoneButFail(err)) => {
            let _ = dispatch_command(sim, cmd, args);
            return Err(err);
        }
        None => {}
    }
    dispatch_command(sim, cmd, args)
}

fn dispatch_command(sim: &Sim, cmd: &str, args: &[String]) -> SimResult {
    match cmd {
        "-v" | "-version" | "--version" => Ok(Outcome::ok(format!("{}\n", sim.version))),
        "-h" | "-help" | "--help" | "help" => Ok(Outcome::ok(
            errors::logo(&sim.version)
                + &if sim.version.major >= 7 {
                    usage::brief_usage(&sim.version, "").0
                } else {
                    usage::old_usage("")
                },
        )),
        "list" => list::list(sim, args),
        "showvminfo" => info::showvminfo(sim, args),
        "createvm" => vm::createvm(sim, args),
        "modifyvm" => vm::modifyvm(sim, args),
        "storagectl" => vm::storagectl(sim, args),
        "storageattach" => vm::storageattach(sim, args),
        "startvm" => vm::startvm(sim, args),
        "controlvm" => vm::controlvm(sim, args),
        "unregistervm" => vm::unregistervm(sim, args),
        "guestproperty" => vm::guestproperty(sim, args),
        "sharedfolder" => vm::sharedfolder(sim, args),
        "setextradata" => vm::setextradata(sim, args),
        "getextradata" => vm::getextradata(sim, args),
        "createmedium" | "createhd" | "createvdi" => media::createmedium(sim, cmd, args),
        "convertfromraw" | "convertdd" => media::convertfromraw(sim, args),
        "closemedium" => media::closemedium(sim, args),
        "hostonlyif" => net::hostonlyif(sim, args),
        "dhcpserver" => net::dhcpserver(sim, args),
        "hostonlynet" if sim.vmnet() => hostonlynet::hostonlynet(sim, args),
        other => Err(sim.syntax("", Syntax::Message(format!("Invalid command '{other}'")))),
    }
}

/// What `VBOXSIM_FAIL` does to a call.
enum Injected {
    /// The call fails and changes nothing.
    Fail(VBoxError),
    /// The call does its work and reports an error all the same.
    DoneButFail(VBoxError),
}

/// `VBOXSIM_FAIL=startvm:1,modifyvm:2`: the Nth call of a subcommand fails with a real error;
/// `modifyvm:1:transient` makes it the session-lock error that clients retry, and
/// `hostonlyif-create:1:created` does the work but still fails (VirtualBox's known bug).
///
/// Counts are kept in the registry, so they hold across processes; the failing call changes
/// nothing.
fn injected_failure(sim: &Sim, argv: &[String]) -> SimResult<Option<Injected>> {
    let Ok(spec) = std::env::var("VBOXSIM_FAIL") else {
        return Ok(None);
    };
    let cmd = argv[0].as_str();
    let verb = argv.get(1).map(String::as_str).unwrap_or("");
    // `name:N`, `name:N:transient` or `name:N:created`.
    let wanted: Vec<(String, u32, Option<String>)> = spec
        .split(',')
        .filter_map(|item| {
            let mut parts = item.trim().split(':');
            let name = parts.next()?.to_string();
            let n = parts.next()?.parse().ok()?;
            Some((name, n, parts.next().map(str::to_string)))
        })
        .collect();
    let keys = [cmd.to_string(), format!("{cmd}-{verb}")];
    if !wanted.iter().any(|(name, _, _)| keys.contains(name)) {
        return Ok(None);
    }
    let mut reg = sim.registry()?;
    let mut fire = None;
    for key in &keys {
        if let Some((_, n, kind)) = wanted.iter().find(|(name, _, _)| name == key) {
            let count = reg.reg.call_counts.entry(key.clone()).or_insert(0);
            *count += 1;
            if *count == *n {
                fire = Some(kind.clone());
            }
        }
    }
    reg.save()
        .map_err(|e| internal(&format!("registry: {e}")))?;
    drop(reg);
    Ok(fire.map(|kind| match kind.as_deref() {
        Some("created") => Injected::DoneButFail(vm::injected_error(sim, argv, false)),
        Some("transient") => Injected::Fail(vm::injected_error(sim, argv, true)),
        _ => Injected::Fail(vm::injected_error(sim, argv, false)),
    }))
}

/// `VBOXSIM_CALL_MS`: the latency added to every call.
pub fn call_latency() -> Option<Duration> {
    std::env::var("VBOXSIM_CALL_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// A MAC address as VirtualBox generates one: `080027` and three random bytes.
pub fn random_mac() -> String {
    let b: [u8; 3] = rand::random();
    format!("080027{:02X}{:02X}{:02X}", b[0], b[1], b[2])
}

/// `VBOXSIM_LOG`: appends one JSON line per call,
/// `{"argv": [...], "start_ms": N, "duration_ms": N, "status": N}`.
pub fn log_call(argv: &[String], start_ms: u128, elapsed: Duration, status: i32) {
    use std::io::Write;
    let Some(path) = std::env::var_os("VBOXSIM_LOG").filter(|p| !p.is_empty()) else {
        return;
    };
    let line = serde_json::json!({
        "argv": argv,
        "start_ms": start_ms,
        "duration_ms": elapsed.as_millis(),
        "status": status,
    });
    // One write of one line with O_APPEND keeps concurrent callers' lines whole.
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}
