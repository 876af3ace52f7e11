//! The field schema: what a voice session collects for an integration, and each field's type.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Name,
    FirstName,
    LastName,
    Email,
    Phone,
    Date,
    Datetime,
    Time,
    Integer,
    Number,
    Boolean,
    Enum,
    Address,
    PostalCode,
    Uuid,
}

impl FieldType {
    pub const ALL: [FieldType; 16] = [
        Self::Text,
        Self::Name,
        Self::FirstName,
        Self::LastName,
        Self::Email,
        Self::Phone,
        Self::Date,
        Self::Datetime,
        Self::Time,
        Self::Integer,
        Self::Number,
        Self::Boolean,
        Self::Enum,
        Self::Address,
        Self::PostalCode,
        Self::Uuid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Name => "name",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Time => "time",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Enum => "enum",
            Self::Address => "address",
            Self::PostalCode => "postal_code",
            Self::Uuid => "uuid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    /// The allowed values of an `enum` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
