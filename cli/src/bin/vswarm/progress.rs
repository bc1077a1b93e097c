//! Progress on standard error: a line per phase and per node with its step and elapsed time on
//! a terminal (indicatif), plain lines otherwise, nothing but warnings with `--quiet`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use vswarm::events::{Event, Reporter};

/// How progress is shown.
pub enum Progress {
    Terminal(Terminal),
    Plain,
    Quiet,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else if console::Term::stderr().is_term() {
            Progress::Terminal(Terminal::new())
        } else {
            Progress::Plain
        }
    }

    /// Clears what is still drawn (before results or an error are printed).
    pub fn finish(&self) {
        if let Progress::Terminal(t) = self {
            t.finish();
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn mark(ok: bool) -> String {
    let m = if ok { "✔" } else { "!" };
    let style = if ok {
        console::Style::new().green()
    } else {
        console::Style::new().yellow()
    };
    style.apply_to(m).to_string()
}

impl Reporter for Progress {
    fn event(&self, event: Event) {
        match self {
            Progress::Terminal(t) => t.event(event),
            Progress::Plain => plain(event),
            Progress::Quiet => {
                if let Event::Warning(w) = event {
                    eprintln!("warning: {w}");
                }
            }
        }
    }
}

fn plain(event: Event) {
    match event {
        Event::PhaseStarted { .. } | Event::Download { .. } => {}
        Event::PhaseDone {
            phase,
            detail,
            elapsed,
        } => eprintln!("{} {phase}: {detail} ({})", mark(true), secs(elapsed)),
        Event::NodeStep {
            node,
            step,
            elapsed,
        } => eprintln!("  {node}: {step} ({})", secs(elapsed)),
        Event::NodeDone {
            node,
            detail,
            elapsed,
        } => eprintln!("  {node}: {detail} ({})", secs(elapsed)),
        Event::Note(n) => eprintln!("{n}"),
        Event::Warning(w) => eprintln!("{} warning: {w}", mark(false)),
        Event::Waiting(w) => eprintln!("… {w}"),
    }
}

/// Bars on a terminal: one per phase under way, one per node.
pub struct Terminal {
    multi: MultiProgress,
    phases: Mutex<HashMap<String, ProgressBar>>,
    nodes: Mutex<HashMap<String, ProgressBar>>,
    download: Mutex<Option<ProgressBar>>,
}

impl Terminal {
    fn new() -> Terminal {
        Terminal {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            phases: Mutex::new(HashMap::new()),
            nodes: Mutex::new(HashMap::new()),
            download: Mutex::new(None),
        }
    }

    fn spinner(&self, template: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    fn event(&self, event: Event) {
        match event {
            Event::PhaseStarted { phase } => {
                let bar = self.spinner("{spinner:.cyan} {msg} {elapsed:.dim}");
                bar.set_message(phase.to_string());
                lock(&self.phases).insert(phase.to_string(), bar);
            }
            Event::PhaseDone {
                phase,
                detail,
                elapsed,
            } => {
                if let Some(bar) = lock(&self.phases).remove(&phase.to_string()) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if phase == vswarm::events::Phase::Machines
                    || phase == vswarm::events::Phase::Teardown
                {
                    for (_, bar) in lock(&self.nodes).drain() {
                        bar.finish_and_clear();
                        self.multi.remove(&bar);
                    }
                }
                if let Some(bar) = lock(&self.download).take() {
                    bar.finish_and_clear();
                }
                let _ = self.multi.println(format!(
                    "{} {phase}: {detail} ({})",
                    mark(true),
                    secs(elapsed)
                ));
            }
            Event::NodeStep {
                node,
                step,
                elapsed: _,
            } => {
                let mut nodes = lock(&self.nodes);
                let bar = nodes.entry(node.clone()).or_insert_with(|| {
                    self.spinner("  {spinner:.cyan} {prefix:<16} {msg} {elapsed:.dim}")
                });
                bar.set_prefix(node);
                bar.set_message(step.to_string());
            }
            Event::NodeDone {
                node,
                detail,
                elapsed,
            } => {
                if let Some(bar) = lock(&self.nodes).remove(&node) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let _ = self.multi.println(format!(
                    "  {} {node:<16} {detail} ({})",
                    mark(true),
                    secs(elapsed)
                ));
            }
            Event::Download { done, total } => {
                let mut slot = lock(&self.download);
                let bar = slot.get_or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::new(total.unwrap_or(0)));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "  downloading {bar:30.cyan/dim} {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar
                });
                if let Some(t) = total {
                    bar.set_length(t);
                }
                bar.set_position(done);
            }
            Event::Note(n) => {
                let _ = self.multi.println(n);
            }
            Event::Warning(w) => {
                let _ = self.multi.println(format!("{} warning: {w}", mark(false)));
            }
            Event::Waiting(w) => {
                let _ = self.multi.println(format!("… {w}"));
            }
        }
    }

    fn finish(&self) {
        for (_, bar) in lock(&self.phases).drain() {
            bar.finish_and_clear();
        }
        for (_, bar) in lock(&self.nodes).drain() {
            bar.finish_and_clear();
        }
        if let Some(bar) = lock(&self.download).take() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
