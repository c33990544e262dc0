//! Ids of the things a scenario lists, checked once when read.

use std::fmt;

/// Why a text cannot be an id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid id {value:?}: {reason}")]
pub struct InvalidId {
    /// The text given.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The longest id accepted, in bytes: ids are short codes ("Z01",
/// "140502"), and a bound keeps log lines and messages readable.
pub const MAX_ID_LEN: usize = 64;

fn check(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        Err("empty")
    } else if value.len() > MAX_ID_LEN {
        Err("longer than 64 bytes")
    } else if value.trim() != value {
        Err("leading or trailing white space")
    } else if value.chars().any(char::is_control) {
        Err("contains a control character")
    } else {
        Ok(())
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Non-empty, at most [`MAX_ID_LEN`] bytes, no surrounding white
        /// space or control characters.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks an id.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                match check(&value) {
                    Ok(()) => Ok(Self(value)),
                    Err(reason) => Err(InvalidId { value, reason }),
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidId;
            fn try_from(value: &str) -> Result<Self, InvalidId> {
                Self::new(value)
            }
        }
    };
}

id_type!(
    /// A zone's id, such as `Z01` or an administrative code like `140502`.
    ZoneId
);
id_type!(
    /// A unit's id, such as `U01`.
    UnitId
);
id_type!(
    /// A police station's id, such as `S01`.
    StationId
);
id_type!(
    /// A ring's id.
    RingId
);
id_type!(
    /// A checkpoint's id, such as `CP01`.
    CheckpointId
);
id_type!(
    /// A move-up post's id, such as `P01`; a unit's standby point is the
    /// post with the unit's id.
    PostId
);

impl From<&UnitId> for PostId {
    /// A unit's standby point is the post with the unit's id; both kinds of
    /// id follow the same rules, so this cannot fail.
    fn from(unit: &UnitId) -> Self {
        PostId(unit.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert_eq!(ZoneId::new("Z01").map(|z| z.to_string()), Ok("Z01".into()));
        assert!(ZoneId::new("140502").is_ok());
        for bad in ["", " Z01", "Z01\n", "a\u{7}b", &"x".repeat(65)] {
            assert!(UnitId::new(bad).is_err(), "{bad:?}");
        }
    }
}
