//! The choice flags (`--status`, `--trigger`, `--category`, `--bucket`, `--kind`, `--action`,
//! `--secrets`) take the service's own enums: clap parses each into its type, so a bad value is
//! a usage error (exit 2) that names the flag and lists the choices. Each choice is named as
//! the wire names it (the UI's requests), in the order `--help` lists them.

use crate::attempts::{HandoffState, Status, Trigger};
use crate::audit::AuditAction;
use crate::intake::inbox::InboxStatus;
use crate::intake::sources::SourceKind;
use crate::integrations::TargetKind;
use crate::secrets::BackendKind;
use crate::stats::SeriesBucket;
use crate::targets::ErrorCategory;
use clap::builder::PossibleValue;

/// `clap::ValueEnum` for a core enum with an `as_str` name, over the variants listed.
macro_rules! choice {
    ($ty:ident: $variants:expr) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &$variants
            }
            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(self.as_str()))
            }
        }
    };
}

choice!(Status: [Status::Failed, Status::Succeeded, Status::Pending]);
choice!(Trigger: [Trigger::Live, Trigger::Test, Trigger::Retry, Trigger::Webhook]);
choice!(ErrorCategory: ErrorCategory::ALL);
choice!(HandoffState: HandoffState::ALL);
choice!(SeriesBucket: [SeriesBucket::Minute, SeriesBucket::Hour, SeriesBucket::Day]);
choice!(TargetKind: [TargetKind::Api, TargetKind::Database]);
choice!(AuditAction: AuditAction::ALL);
choice!(BackendKind: BackendKind::ALL);
choice!(SourceKind: SourceKind::ALL);
choice!(InboxStatus: InboxStatus::ALL);

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;
    use serde::de::DeserializeOwned;

    /// Every choice's flag value is the name the UI's requests use for it (serde's), and
    /// reads back as the same value.
    fn names_as_on_the_wire<T: ValueEnum + DeserializeOwned + PartialEq + std::fmt::Debug>() {
        for v in T::value_variants() {
            let name = v
                .to_possible_value()
                .expect("a name")
                .get_name()
                .to_string();
            let wire: T = serde_json::from_value(serde_json::Value::String(name.clone()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&wire, v, "{name}");
            assert_eq!(T::from_str(&name, false).as_ref(), Ok(v), "{name}");
        }
    }

    #[test]
    fn flag_values_are_the_wire_names() {
        names_as_on_the_wire::<Status>();
        names_as_on_the_wire::<Trigger>();
        names_as_on_the_wire::<ErrorCategory>();
        names_as_on_the_wire::<HandoffState>();
        names_as_on_the_wire::<SeriesBucket>();
        names_as_on_the_wire::<TargetKind>();
        names_as_on_the_wire::<AuditAction>();
        names_as_on_the_wire::<SourceKind>();
        names_as_on_the_wire::<InboxStatus>();
    }
}
