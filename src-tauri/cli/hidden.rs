//! A secret read from stdin (a password, a passphrase): one line, not echoed on a terminal.

use super::integration::read_secret;
use crate::error::AppError;
use crate::secrets::Secret;

/// One line of stdin; on a terminal, asked for on stderr as `prompt` and not echoed.
pub(super) fn read_hidden(prompt: &str) -> Result<Secret<String>, AppError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return read_secret().map(Secret::new);
    }
    eprint!("{prompt}: ");
    let echo = EchoOff::new();
    let value = read_secret();
    drop(echo);
    eprintln!();
    value.map(Secret::new)
}

/// Turns the terminal's echo off on stdin until dropped (Unix; elsewhere it does nothing).
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> Self {
        #[cfg(unix)]
        {
            // SAFETY: tcgetattr fills the struct it is given; a zeroed termios is a valid
            // value to hand it, and it is only used when the call succeeded.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } != 0 {
                return Self { saved: None };
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            // SAFETY: `t` is the terminal's own settings with ECHO cleared.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) };
            Self { saved: Some(saved) }
        }
        #[cfg(not(unix))]
        Self {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            // SAFETY: restores the settings tcgetattr returned.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved) };
        }
    }
}
