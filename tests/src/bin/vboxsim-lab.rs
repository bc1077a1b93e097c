//! The lab's driver: `vboxsim-lab run -- CMD ARGS...` (what `tests/lab/run` calls).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(vswarm_lab::lab::main(&args));
}
