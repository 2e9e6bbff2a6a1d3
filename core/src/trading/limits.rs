//! Where an account's limits come from (issue 16): the profile's defaults (the issue's
//! table, [`RiskLimits::defaults`]), then the operator's `[risk.profiles.<name>]` table,
//! then the per-account overrides an admin set. Each layer is a [`LimitOverrides`]:
//! every field optional, an absent field keeps what the layer below says.
//!
//! [`effective_limits`] applies the three; the config's [`RiskConfig::limits_for`] the
//! first two.
//!
//! [`RiskConfig::limits_for`]: crate::config::RiskConfig::limits_for

use super::{Leverage, Profile, RiskLimits};
use crate::config::RiskConfig;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Per-field replacements of a profile's limits (config `[risk.profiles.<name>]`, and
/// an account's `limit_overrides`, stored as JSON). Absent fields keep the value below.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_open_positions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_position_notional_pct: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_gross_exposure_pct: Option<Decimal>,
    /// 1 to 125 (a wider type than the limit's, so 300 gets the sentence below rather
    /// than a parser's "out of range for u8").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_leverage: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_loss_limit_pct: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_loss_required: Option<bool>,
    /// `0` means no minimum (TOML has no null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_reward_risk: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_risk_to_sl_pct: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flatten_on_limit: Option<bool>,
}

/// A value of an override that cannot be a limit; the message names the field and
/// the accepted range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {why}")]
pub struct LimitError {
    pub field: &'static str,
    pub why: &'static str,
}

impl LimitOverrides {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The names of the fields that are set, in declaration order.
    pub fn fields_set(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut note = |set: bool, name: &'static str| {
            if set {
                out.push(name);
            }
        };
        note(self.max_open_positions.is_some(), "max_open_positions");
        note(
            self.max_position_notional_pct.is_some(),
            "max_position_notional_pct",
        );
        note(self.max_gross_exposure_pct.is_some(), "max_gross_exposure_pct");
        note(self.max_leverage.is_some(), "max_leverage");
        note(self.daily_loss_limit_pct.is_some(), "daily_loss_limit_pct");
        note(self.stop_loss_required.is_some(), "stop_loss_required");
        note(self.min_reward_risk.is_some(), "min_reward_risk");
        note(self.max_risk_to_sl_pct.is_some(), "max_risk_to_sl_pct");
        note(self.flatten_on_limit.is_some(), "flatten_on_limit");
        out
    }

    /// Every set field within its range: percentages above 0, at least one open
    /// position, leverage 1 to 125, a reward/risk minimum of 0 (none) or more.
    pub fn validate(&self) -> Result<(), LimitError> {
        let positive = |v: Option<Decimal>, field: &'static str| match v {
            Some(v) if v <= Decimal::ZERO => Err(LimitError {
                field,
                why: "must be a percentage above 0",
            }),
            _ => Ok(()),
        };
        positive(self.max_position_notional_pct, "max_position_notional_pct")?;
        positive(self.max_gross_exposure_pct, "max_gross_exposure_pct")?;
        positive(self.daily_loss_limit_pct, "daily_loss_limit_pct")?;
        positive(self.max_risk_to_sl_pct, "max_risk_to_sl_pct")?;
        if self.max_open_positions == Some(0) {
            return Err(LimitError {
                field: "max_open_positions",
                why: "must be at least 1 (make the account a viewer to stop its trading)",
            });
        }
        if let Some(lev) = self.max_leverage
            && Leverage::new(lev).is_err()
        {
            return Err(LimitError {
                field: "max_leverage",
                why: "must be a whole number from 1 to 125",
            });
        }
        if self.min_reward_risk.is_some_and(|m| m < Decimal::ZERO) {
            return Err(LimitError {
                field: "min_reward_risk",
                why: "must be 0 (no minimum) or more",
            });
        }
        Ok(())
    }

    /// `limits` with every set field replaced. Values are taken as validated (an
    /// out-of-range leverage keeps the one below rather than wrapping).
    pub fn apply(&self, mut limits: RiskLimits) -> RiskLimits {
        if let Some(v) = self.max_open_positions {
            limits.max_open_positions = v;
        }
        if let Some(v) = self.max_position_notional_pct {
            limits.max_position_notional_pct = v;
        }
        if let Some(v) = self.max_gross_exposure_pct {
            limits.max_gross_exposure_pct = v;
        }
        if let Some(lev) = self.max_leverage.and_then(|l| Leverage::new(l).ok()) {
            limits.max_leverage = lev.get();
        }
        if let Some(v) = self.daily_loss_limit_pct {
            limits.daily_loss_limit_pct = v;
        }
        if let Some(v) = self.stop_loss_required {
            limits.stop_loss_required = v;
        }
        if let Some(v) = self.min_reward_risk {
            limits.min_reward_risk = (v > Decimal::ZERO).then_some(v);
        }
        if let Some(v) = self.max_risk_to_sl_pct {
            limits.max_risk_to_sl_pct = v;
        }
        if let Some(v) = self.flatten_on_limit {
            limits.flatten_on_limit = v;
        }
        limits
    }

    /// The stored form (an account's `limit_overrides`): JSON of the set fields only.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// The limits an account trades under: `profile`'s defaults, with the operator's
/// `[risk.profiles.<profile>]` fields, then the account's `overrides` (an admin's), on
/// top. An override out of range (it was validated when set) is ignored field by field.
pub fn effective_limits(
    config: &RiskConfig,
    profile: Profile,
    overrides: Option<&LimitOverrides>,
) -> RiskLimits {
    let limits = config.limits_for(profile);
    match overrides {
        Some(o) => o.apply(limits),
        None => limits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::d;

    #[test]
    fn layers_apply_field_by_field() {
        let mut config = RiskConfig::default();
        config.profiles.model2 = LimitOverrides {
            max_leverage: Some(5),
            min_reward_risk: Some(d("0")),
            ..LimitOverrides::default()
        };
        // The config layer: only its fields change.
        let m = effective_limits(&config, Profile::Model2, None);
        assert_eq!(m.max_leverage, 5);
        assert_eq!(m.min_reward_risk, None, "0 means no minimum");
        assert_eq!(m.max_open_positions, 5);
        assert_eq!(m.daily_loss_limit_pct, d("3"));
        // Other profiles are untouched.
        assert_eq!(
            effective_limits(&config, Profile::Conservative, None),
            RiskLimits::defaults(Profile::Conservative)
        );
        // The account layer wins over the config layer.
        let account = LimitOverrides {
            max_leverage: Some(2),
            daily_loss_limit_pct: Some(d("1.5")),
            flatten_on_limit: Some(true),
            ..LimitOverrides::default()
        };
        let m = effective_limits(&config, Profile::Model2, Some(&account));
        assert_eq!(m.max_leverage, 2);
        assert_eq!(m.daily_loss_limit_pct, d("1.5"));
        assert!(m.flatten_on_limit);
        assert_eq!(m.min_reward_risk, None);
        assert_eq!(m.max_gross_exposure_pct, d("60"));
    }

    #[test]
    fn stored_form_keeps_only_the_set_fields() {
        let o = LimitOverrides {
            max_open_positions: Some(2),
            max_position_notional_pct: Some(d("7.5")),
            ..LimitOverrides::default()
        };
        let json = o.to_json().unwrap();
        assert_eq!(
            json,
            r#"{"max_open_positions":2,"max_position_notional_pct":"7.5"}"#
        );
        assert_eq!(LimitOverrides::from_json(&json).unwrap(), o);
        assert_eq!(
            o.fields_set(),
            ["max_open_positions", "max_position_notional_pct"]
        );
        assert!(LimitOverrides::default().is_empty());
        assert!(
            LimitOverrides::from_json(r#"{"max_lev":3}"#).is_err(),
            "unknown field"
        );
        // Numbers written as JSON numbers are taken too.
        let n = LimitOverrides::from_json(r#"{"max_risk_to_sl_pct":0.5}"#).unwrap();
        assert_eq!(n.max_risk_to_sl_pct, Some(d("0.5")));
    }

    #[test]
    fn out_of_range_values_are_named() {
        let bad = |o: LimitOverrides| o.validate().unwrap_err().to_string();
        let e = bad(LimitOverrides {
            max_leverage: Some(126),
            ..Default::default()
        });
        assert!(e.contains("max_leverage") && e.contains("1 to 125"), "{e}");
        let e = bad(LimitOverrides {
            max_leverage: Some(0),
            ..Default::default()
        });
        assert!(e.contains("max_leverage"), "{e}");
        let e = bad(LimitOverrides {
            daily_loss_limit_pct: Some(d("0")),
            ..Default::default()
        });
        assert!(e.contains("daily_loss_limit_pct") && e.contains("above 0"), "{e}");
        let e = bad(LimitOverrides {
            max_gross_exposure_pct: Some(d("-1")),
            ..Default::default()
        });
        assert!(e.contains("max_gross_exposure_pct"), "{e}");
        let e = bad(LimitOverrides {
            max_open_positions: Some(0),
            ..Default::default()
        });
        assert!(e.contains("max_open_positions"), "{e}");
        let e = bad(LimitOverrides {
            min_reward_risk: Some(d("-0.1")),
            ..Default::default()
        });
        assert!(e.contains("min_reward_risk"), "{e}");
        LimitOverrides {
            max_leverage: Some(125),
            max_open_positions: Some(1),
            min_reward_risk: Some(d("0")),
            max_risk_to_sl_pct: Some(d("0.01")),
            ..Default::default()
        }
        .validate()
        .unwrap();
    }
}
