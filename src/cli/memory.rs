//! Process-wide memory settings applied once, at the start of `peerd
//! serve`, before the store opens: transparent huge pages off unless
//! `store.huge_pages` asks for them (README, Performance).

/// Turns transparent huge pages off for this process (`PR_SET_THP_DISABLE`)
/// unless `on`; memory faulted in from now on is backed by 4 KiB pages.
/// Returns whether they are now off. Where the kernel lacks the call (not
/// Linux, or older than 3.15) nothing changes and it returns false.
pub fn huge_pages(on: bool) -> bool {
    if on {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and
        // touches no memory of ours.
        let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
        if rc == 0 {
            return true;
        }
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "could not turn transparent huge pages off"
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_pages_stay_when_asked_for() {
        assert!(!huge_pages(true));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_off_is_seen_by_the_kernel() {
        // the flag is per process, and harmless for the tests around it
        assert!(huge_pages(false));
        let got = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(got, 1);
    }
}
