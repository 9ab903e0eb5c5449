//! The inventory's states as open enums.
//!
//! The SDK lists the values each state takes today; the vendor may add one at any
//! time, and a fleet listing must not fail on the first server in a new state. Each
//! type here replaces the one progenitor would derive in the client (see
//! `clouddc_codegen`'s replacements): known values get a variant, anything else is
//! kept in `Unknown`. They live here because the simulator speaks the same
//! vocabulary without linking the client.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares an open enum: one variant per known wire value, `Unknown(String)` for
/// the rest. Parsing from text (CLI flags) ignores ASCII case; decoding keeps the
/// exact wire form of unknown values.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value the SDK does not list, exactly as sent.
            Unknown(String),
        }

        impl $name {
            /// Every value the SDK lists, in its order.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The value as it goes on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(raw) => raw,
                }
            }

            /// The known value spelled `raw` (exactly), or `Unknown(raw)`.
            pub fn from_wire(raw: &str) -> Self {
                match raw {
                    $($wire => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;

            /// Known values match whatever their ASCII case; others become `Unknown`.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self::KNOWN
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(text))
                    .map_or_else(|| Self::Unknown(text.to_owned()), |known| Self::from_wire(known)))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(|raw| Self::from_wire(&raw))
            }
        }
    };
}

open_enum! {
    /// A server's management state.
    ManageState {
        /// Ordered; the design is done.
        Onboard => "onboard",
        /// Software commissioning is done.
        OsReady => "os-ready",
        /// Delivered and accepted.
        Ready => "ready",
        /// Handed out as a bare-metal server.
        InUse => "in-use",
        /// Under repair.
        Maintain => "maintain",
        /// Being taken off the rack.
        Offboarding => "offboarding",
    }
}

open_enum! {
    /// A server's health.
    HealthState {
        /// Healthy.
        Ok => "OK",
        /// Degraded.
        Warning => "Warning",
        /// Failing.
        Critical => "Critical",
        /// The service does not know.
        NotKnown => "Unknown",
    }
}

open_enum! {
    /// A server's power state.
    PowerState {
        /// Powered on.
        On => "on",
        /// Powered off.
        Off => "off",
    }
}

open_enum! {
    /// The state of a server's last power operation.
    OperationState {
        /// Powering on.
        PowerOnProcessing => "power-on-processing",
        /// Powered on.
        PowerOnSucceed => "power-on-succeed",
        /// Powering on failed.
        PowerOnFailed => "power-on-failed",
        /// Powering off.
        PowerOffProcessing => "power-off-processing",
        /// Powered off.
        PowerOffSucceed => "power-off-succeed",
        /// Powering off failed.
        PowerOffFailed => "power-off-failed",
        /// Rebooting.
        RebootProcessing => "reboot-processing",
        /// Rebooted.
        RebootSucceed => "reboot-succeed",
        /// Rebooting failed.
        RebootFailed => "reboot-failed",
    }
}

open_enum! {
    /// An event's level.
    EventLevel {
        /// Critical.
        Critical => "critical",
        /// Major.
        Major => "major",
        /// Minor.
        Minor => "minor",
        /// Informational.
        Info => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip_and_unknown_ones_are_kept() {
        let h: HealthState = serde_json::from_str("\"Critical\"").unwrap();
        assert_eq!(h, HealthState::Critical);
        let new: HealthState = serde_json::from_str("\"Degraded\"").unwrap();
        assert_eq!(new, HealthState::Unknown("Degraded".into()));
        assert_eq!(serde_json::to_string(&new).unwrap(), "\"Degraded\"");
        // The vendor's own "Unknown" health is a known value, not the open arm.
        assert_eq!(HealthState::from_wire("Unknown"), HealthState::NotKnown);
        let m: ManageState = serde_json::from_str("\"in-use\"").unwrap();
        assert_eq!(m.as_str(), "in-use");
        assert!(serde_json::from_str::<PowerState>("1").is_err());
    }

    #[test]
    fn text_parsing_ignores_case_of_known_values_only() {
        assert_eq!("critical".parse::<HealthState>(), Ok(HealthState::Critical));
        assert_eq!("IN-USE".parse::<ManageState>(), Ok(ManageState::InUse));
        assert_eq!(
            "Retired".parse::<ManageState>(),
            Ok(ManageState::Unknown("Retired".into()))
        );
        assert_eq!(OperationState::KNOWN.len(), 9);
    }
}
