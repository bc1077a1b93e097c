//! `setextradata` and `getextradata`: key-value pairs of a VM or of the installation (`global`).

use super::find_vm;
use crate::sim::errors::{Outcome, SimResult, Syntax};
use crate::sim::{Sim, internal};

pub fn setextradata(sim: &Sim, args: &[String]) -> SimResult {
    if !(2..=3).contains(&args.len()) {
        return Err(sim.syntax(
            "setextradata",
            Syntax::Message("Incorrect number of parameters".into()),
        ));
    }
    let mut reg = sim.registry()?;
    let map = if args[0] == "global" {
        &mut reg.reg.extradata
    } else {
        let idx = find_vm(sim, &reg.reg, "setextradata", &args[0])?;
        &mut reg.reg.vms[idx].extradata
    };
    match args.get(2) {
        Some(v) if !v.is_empty() => {
            map.insert(args[1].clone(), v.clone());
        }
        _ => {
            map.remove(&args[1]);
        }
    }
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::default())
}

pub fn getextradata(sim: &Sim, args: &[String]) -> SimResult {
    if args.len() != 2 {
        return Err(sim.syntax(
            "getextradata",
            Syntax::Message("Incorrect number of parameters".into()),
        ));
    }
    let reg = sim.registry()?;
    let map = if args[0] == "global" {
        &reg.reg.extradata
    } else {
        let idx = find_vm(sim, &reg.reg, "getextradata", &args[0])?;
        &reg.reg.vms[idx].extradata
    };
    if args[1] == "enumerate" {
        return Ok(Outcome::ok(
            map.iter()
                .map(|(k, v)| format!("Key: {k}, Value: {v}\n"))
                .collect::<String>(),
        ));
    }
    Ok(Outcome::ok(match map.get(&args[1]) {
        Some(v) => format!("Value: {v}\n"),
        None => "No value set!\n".to_string(),
    }))
}
