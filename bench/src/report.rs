//! The results as Markdown: printed to the terminal and written to BENCHMARKS.md.

/// One goal of the issue, with what this run measured.
pub struct Goal {
    pub what: String,
    pub measured: String,
    pub target: String,
    /// `None`: reported, not a goal.
    pub met: Option<bool>,
}

impl Goal {
    pub fn new(what: impl Into<String>, measured: impl Into<String>, target: impl Into<String>, met: bool) -> Self {
        Goal {
            what: what.into(),
            measured: measured.into(),
            target: target.into(),
            met: Some(met),
        }
    }

    /// A figure the goals table shows without holding it to a target.
    pub fn info(what: impl Into<String>, measured: impl Into<String>, note: impl Into<String>) -> Self {
        Goal {
            what: what.into(),
            measured: measured.into(),
            target: note.into(),
            met: None,
        }
    }
}

/// One measurement's results: Markdown text (tables and notes) and its goals.
pub struct Section {
    pub title: String,
    pub body: String,
    pub goals: Vec<Goal>,
}

impl Section {
    pub fn new(title: impl Into<String>) -> Self {
        Section {
            title: title.into(),
            body: String::new(),
            goals: vec![],
        }
    }

    pub fn text(&mut self, text: impl AsRef<str>) -> &mut Self {
        self.body.push_str(text.as_ref().trim_end());
        self.body.push_str("\n\n");
        self
    }

    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) -> &mut Self {
        let text = table(header, rows);
        self.text(text)
    }

    pub fn goal(&mut self, goal: Goal) -> &mut Self {
        self.goals.push(goal);
        self
    }

    pub fn render(&self) -> String {
        format!("## {}\n\n{}", self.title, self.body)
    }
}

pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// The goals of every section in one table.
pub fn goals_table(sections: &[Section]) -> String {
    let rows: Vec<Vec<String>> = sections
        .iter()
        .flat_map(|s| &s.goals)
        .map(|g| {
            vec![
                g.what.clone(),
                g.measured.clone(),
                g.target.clone(),
                match g.met {
                    Some(true) => "met".into(),
                    Some(false) => "**missed**".into(),
                    None => "–".into(),
                },
            ]
        })
        .collect();
    table(&["goal", "measured", "target", ""], &rows)
}
