//! `VBoxHeadless`, simulated: the process that runs one VM (started by `VBoxManage startvm`).
#![allow(non_snake_case)]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(vswarm_lab::vmproc::headless_main(&args));
}
