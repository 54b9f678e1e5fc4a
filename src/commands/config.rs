//! `config show`: the resolved settings, secrets redacted, with the source of
//! each value (flag, env, .env, config file, default).

use anyhow::Result;

use super::Context;
use crate::config::{ResolvedView, Source};
use crate::output::printer::Style;
use crate::output::{tables, Report};

pub fn show(ctx: &Context) -> Result<()> {
    ctx.printer.print(&ctx.settings.view(&ctx.dotenv))
}

impl Report for ResolvedView {
    fn human(&self, _: &Style) -> String {
        let mut t = tables::table(["SETTING", "VALUE", "SOURCE"]);
        for s in &self.settings {
            let source = match s.source {
                Some(Source::Flag) => "flag",
                Some(Source::Env) => "environment",
                Some(Source::DotEnv) => ".env",
                Some(Source::ConfigFile) => "config file",
                Some(Source::Default) => "default",
                None => "-",
            };
            t.add_row(vec![
                s.name.to_owned(),
                s.value.clone().unwrap_or_else(|| "(not set)".to_owned()),
                source.to_owned(),
            ]);
        }
        format!(
            "config file: {}\n.env file: {}\n{t}",
            self.config_file.as_deref().unwrap_or("(none)"),
            self.dotenv_file.as_deref().unwrap_or("(none)"),
        )
    }
}
