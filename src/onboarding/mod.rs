//! Onboarding a school district: the specs of schools to provision, the
//! roster CSV formats, the platform's validation rules and defaults. Pure:
//! no database, no clap, no output; `db::provision` and `db::roster` write.

pub mod defaults;
pub mod roster;
pub mod rules;
pub mod school;
