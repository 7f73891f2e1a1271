//! The code tables of the small enums inside event frames (access, lock kind, fence ordering,
//! direction): each written once, both directions generated from it.

use raceway_core::event::{Access, Direction, FenceOrdering, LockKind};

/// A code table written once: `$code` gives each variant's byte on the wire, `$from` (host only)
/// reads it back, `None` for a byte no variant has.
macro_rules! wire_codes {
    ($ty:ty, $code:ident, $from:ident { $($variant:path = $n:literal),+ $(,)? }) => {
        pub(crate) const fn $code(value: $ty) -> u8 {
            match value {
                $($variant => $n,)+
            }
        }

        #[cfg(feature = "std")]
        pub(crate) const fn $from(code: u8) -> Option<$ty> {
            Some(match code {
                $($n => $variant,)+
                _ => return None,
            })
        }
    };
}

wire_codes!(Access, access_code, access_from {
    Access::Read = 0,
    Access::Write = 1,
    Access::AtomicRead = 2,
    Access::AtomicWrite = 3,
    Access::AtomicRmw = 4,
});

wire_codes!(LockKind, lock_kind_code, lock_kind_from {
    LockKind::Mutex = 0,
    LockKind::RwRead = 1,
    LockKind::RwWrite = 2,
    LockKind::CriticalSection = 3,
});

wire_codes!(FenceOrdering, ordering_code, ordering_from {
    FenceOrdering::Relaxed = 0,
    FenceOrdering::Acquire = 1,
    FenceOrdering::Release = 2,
    FenceOrdering::AcqRel = 3,
    FenceOrdering::SeqCst = 4,
});

wire_codes!(Direction, direction_code, direction_from {
    Direction::Outbound = 0,
    Direction::Inbound = 1,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for access in [
            Access::Read,
            Access::Write,
            Access::AtomicRead,
            Access::AtomicWrite,
            Access::AtomicRmw,
        ] {
            assert_eq!(access_from(access_code(access)), Some(access));
        }
        for kind in [
            LockKind::Mutex,
            LockKind::RwRead,
            LockKind::RwWrite,
            LockKind::CriticalSection,
        ] {
            assert_eq!(lock_kind_from(lock_kind_code(kind)), Some(kind));
        }
        assert_eq!(access_from(5), None);
        assert_eq!(lock_kind_from(4), None);
        assert_eq!(
            ordering_from(ordering_code(FenceOrdering::SeqCst)),
            Some(FenceOrdering::SeqCst)
        );
        assert_eq!(
            direction_from(direction_code(Direction::Inbound)),
            Some(Direction::Inbound)
        );
    }
}
