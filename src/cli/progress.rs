//! A spinner on stderr while something takes longer than about a second.
//!
//! It is only ever drawn when stderr is a terminal and logging is off (the caller decides), so
//! pipes, files and tests never see it.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

/// How long to wait before showing the spinner: the real `az` often answers within a second.
const SHOW_AFTER: Duration = Duration::from_millis(1000);

/// A delayed spinner; does nothing when disabled.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    reveal: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the timer; the spinner appears with `message` after [`SHOW_AFTER`] unless
    /// [`finish`](Self::finish) comes first. Must be called inside a Tokio runtime when `enabled`.
    pub(crate) fn start(enabled: bool, message: String) -> Self {
        if !enabled {
            return Progress {
                bar: None,
                reveal: None,
            };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message);
        let shown = bar.clone();
        let reveal = tokio::spawn(async move {
            tokio::time::sleep(SHOW_AFTER).await;
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(100));
        });
        Progress {
            bar: Some(bar),
            reveal: Some(reveal),
        }
    }

    /// Changes the message.
    pub(crate) fn set_message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }

    /// Redraws now (after a step finished).
    pub(crate) fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.tick();
        }
    }

    /// Removes the spinner (or cancels it before it appears).
    pub(crate) fn finish(&self) {
        if let Some(reveal) = &self.reveal {
            reveal.abort();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Runs `future` with a spinner showing `message` while it is slow.
pub(crate) async fn with_progress<F: Future>(enabled: bool, message: String, future: F) -> F::Output {
    let progress = Progress::start(enabled, message);
    let output = future.await;
    progress.finish();
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disabled_progress_is_inert() {
        let progress = Progress::start(false, "x".into());
        assert!(progress.bar.is_none() && progress.reveal.is_none());
        progress.set_message("y".into());
        progress.finish();
        assert_eq!(with_progress(false, "z".into(), async { 7 }).await, 7);
    }

    #[tokio::test]
    async fn finishing_early_cancels_the_reveal() {
        let progress = Progress::start(true, "waiting".into());
        progress.finish();
        let reveal = progress.reveal.as_ref().expect("a timer");
        tokio::task::yield_now().await;
        assert!(reveal.is_finished(), "the reveal timer must not outlive the work");
        assert!(progress.bar.as_ref().is_some_and(ProgressBar::is_finished));
    }
}
