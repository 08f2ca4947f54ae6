//! QuickFIX XML data dictionaries and session-level validation.
//!
//! The format is QuickFIX's (`spec/FIX44.xml` and friends in the QuickFIX distribution):
//! `<fix type major minor servicepack>` holding `<header>`, `<trailer>`, `<messages>` (each
//! `<message name msgtype msgcat>` listing `<field name required>`, `<group name required>` and
//! `<component name required>`), `<components>` and `<fields>` (`<field number name type>` with
//! optional `<value enum>` children). Components are expanded when the dictionary is built;
//! a required component's required fields are required, a group's required fields are required
//! in each entry.
//!
//! [`Dictionary::validate`] reports the first violation with its SessionRejectReason (373) code,
//! as the FIX session protocol defines them: 0 invalid tag number, 1 required tag missing, 2 tag
//! not defined for this message type, 3 undefined tag, 4 tag specified without a value, 5 value
//! is incorrect (out of range), 6 incorrect data format, 11 invalid MsgType, 13 tag appears more
//! than once, 14 tag specified out of required order, 15 repeating group fields out of order,
//! 16 incorrect NumInGroup count for repeating group.
//!
//! Venue extensions ([`Dictionary::extend`]) use the same format: their `<fields>` are added
//! (a field number already defined keeps its name and type and gains the extension's `<value
//! enum>`s), their `<components>` are added, each of their
//! `<message>`s adds its fields, groups and components to the message of the same `msgtype`
//! (or defines a new message), and `<header>` / `<trailer>` entries are appended to the
//! session's header and trailer.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

use super::parse::{parse_u64, Field, MessageIndex};
use super::time::parse_utc_timestamp;

/// A dictionary that cannot be loaded.
#[derive(Debug, Error)]
pub enum DictError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a QuickFIX dictionary, or refers to something it does not define.
    #[error("{path}: {msg}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        msg: String,
    },
}

/// A validation failure: the SessionRejectReason (373) code, the tag and a text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{text}{}", .tag.map_or_else(String::new, |t| format!(" (tag {t})")))]
pub struct Violation {
    /// SessionRejectReason (373).
    pub reason: u32,
    /// RefTagID (371), when there is one.
    pub tag: Option<u32>,
    /// True when the answer is a BusinessMessageReject (35=j, BusinessRejectReason 380=3
    /// "unsupported message type"): a valid MsgType this dictionary does not define.
    pub business: bool,
    /// The reason's name ("required tag missing"...).
    pub text: String,
}

fn violation(reason: u32, tag: Option<u32>) -> Violation {
    let text = match reason {
        0 => "invalid tag number",
        1 => "required tag missing",
        2 => "tag not defined for this message type",
        3 => "undefined tag",
        4 => "tag specified without a value",
        5 => "value is incorrect (out of range) for this tag",
        6 => "incorrect data format for value",
        11 => "invalid MsgType",
        13 => "tag appears more than once",
        14 => "tag specified out of required order",
        15 => "repeating group fields out of order",
        16 => "incorrect NumInGroup count for repeating group",
        _ => "other",
    };
    Violation {
        reason,
        tag,
        business: false,
        text: text.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Str,
    Int,
    Unsigned,
    DayOfMonth,
    Float,
    Char,
    Bool,
    UtcTimestamp,
    UtcTimeOnly,
    Date,
    MonthYear,
    MultiChar,
    MultiStr,
}

impl Ty {
    fn from_name(name: &str) -> Self {
        match name {
            "INT" => Self::Int,
            "LENGTH" | "SEQNUM" | "NUMINGROUP" | "TAGNUM" => Self::Unsigned,
            "DAYOFMONTH" => Self::DayOfMonth,
            "FLOAT" | "PRICE" | "QTY" | "AMT" | "PRICEOFFSET" | "PERCENTAGE" => Self::Float,
            "CHAR" => Self::Char,
            "BOOLEAN" => Self::Bool,
            "UTCTIMESTAMP" => Self::UtcTimestamp,
            "UTCTIMEONLY" => Self::UtcTimeOnly,
            "UTCDATEONLY" | "UTCDATE" | "LOCALMKTDATE" => Self::Date,
            "MONTHYEAR" => Self::MonthYear,
            "MULTIPLECHARVALUE" => Self::MultiChar,
            "MULTIPLEVALUESTRING" | "MULTIPLESTRINGVALUE" => Self::MultiStr,
            _ => Self::Str,
        }
    }

    fn accepts(self, v: &[u8]) -> bool {
        let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
        match self {
            Self::Str | Self::MultiStr => true,
            Self::Int => digits(v.strip_prefix(b"-").unwrap_or(v)),
            Self::Unsigned => digits(v),
            Self::DayOfMonth => parse_u64(v).is_some_and(|d| (1..=31).contains(&d)),
            Self::Float => {
                let v = v.strip_prefix(b"-").unwrap_or(v);
                let mut parts = v.splitn(2, |&b| b == b'.');
                let int = parts.next().unwrap_or_default();
                let frac = parts.next();
                (int.is_empty() || digits(int))
                    && frac.is_none_or(|f| f.is_empty() || digits(f))
                    && (digits(int) || frac.is_some_and(digits))
            }
            Self::Char => v.len() == 1,
            Self::Bool => v == b"Y" || v == b"N",
            Self::UtcTimestamp => parse_utc_timestamp(v).is_ok(),
            Self::UtcTimeOnly => {
                v.len() >= 8 && parse_utc_timestamp(&[b"19700101-", v].concat()).is_ok()
            }
            Self::Date => v.len() == 8 && parse_utc_timestamp(&[v, b"-00:00:00"].concat()).is_ok(),
            Self::MonthYear => {
                v.len() >= 6
                    && digits(&v[..6])
                    && matches!(
                        &v[6..],
                        [] | [b'0'..=b'3', b'0'..=b'9'] | [b'w', b'1'..=b'5']
                    )
            }
            Self::MultiChar => v.split(|&b| b == b' ').all(|c| c.len() == 1),
        }
    }
}

#[derive(Debug, Clone)]
struct FieldDef {
    name: String,
    ty: Ty,
    enums: HashSet<Vec<u8>>,
}

/// An item of a message, component or group definition, before expansion.
#[derive(Debug, Clone)]
enum Item {
    Field {
        name: String,
        required: bool,
    },
    Group {
        name: String,
        required: bool,
        items: Vec<Item>,
    },
    Component {
        name: String,
        required: bool,
    },
}

#[derive(Debug, Clone)]
struct RawMessage {
    name: String,
    admin: bool,
    items: Vec<Item>,
}

/// Everything read from the XML files, merged; the lookup tables are built from it.
#[derive(Debug, Clone, Default)]
struct Raw {
    begin_string: String,
    header: Vec<Item>,
    trailer: Vec<Item>,
    /// By msgtype, in file order.
    messages: Vec<(String, RawMessage)>,
    components: HashMap<String, Vec<Item>>,
    /// (number, definition) in file order.
    fields: Vec<(u32, FieldDef)>,
}

/// A message body, header, trailer or group entry: its members in definition order.
#[derive(Debug, Clone, Default)]
struct Scope {
    order: Vec<u32>,
    members: HashSet<u32>,
    required: Vec<u32>,
    /// Count tag → the group's entry definition (its delimiter is `order[0]`).
    groups: HashMap<u32, Scope>,
}

#[derive(Debug, Clone)]
struct MsgDef {
    name: String,
    admin: bool,
    body: Scope,
}

/// A loaded data dictionary.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    raw: Raw,
    fields: HashMap<u32, FieldDef>,
    header: Scope,
    trailer: Scope,
    messages: HashMap<String, MsgDef>,
}

fn invalid(path: &str, msg: impl Into<String>) -> DictError {
    DictError::Invalid {
        path: path.to_owned(),
        msg: msg.into(),
    }
}

fn items_of(path: &str, node: roxmltree::Node<'_, '_>) -> Result<Vec<Item>, DictError> {
    let mut out = Vec::new();
    for child in node.children().filter(roxmltree::Node::is_element) {
        let name = child
            .attribute("name")
            .ok_or_else(|| {
                invalid(
                    path,
                    format!("<{}> without a name", child.tag_name().name()),
                )
            })?
            .to_owned();
        let required = child.attribute("required") == Some("Y");
        out.push(match child.tag_name().name() {
            "field" => Item::Field { name, required },
            "component" => Item::Component { name, required },
            "group" => Item::Group {
                name,
                required,
                items: items_of(path, child)?,
            },
            other => return Err(invalid(path, format!("unexpected <{other}>"))),
        });
    }
    Ok(out)
}

fn read_raw(path: &str) -> Result<Raw, DictError> {
    let text = std::fs::read_to_string(path).map_err(|source| DictError::Io {
        path: path.to_owned(),
        source,
    })?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| invalid(path, e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "fix" {
        return Err(invalid(path, "the root element is not <fix>"));
    }
    let mut raw = Raw::default();
    if let (Some(major), Some(minor)) = (root.attribute("major"), root.attribute("minor")) {
        let kind = root.attribute("type").unwrap_or("FIX");
        raw.begin_string = format!("{kind}.{major}.{minor}");
    }
    for section in root.children().filter(roxmltree::Node::is_element) {
        match section.tag_name().name() {
            "header" => raw.header = items_of(path, section)?,
            "trailer" => raw.trailer = items_of(path, section)?,
            "messages" => {
                for m in section.children().filter(roxmltree::Node::is_element) {
                    let msgtype = m
                        .attribute("msgtype")
                        .ok_or_else(|| invalid(path, "<message> without msgtype"))?;
                    raw.messages.push((
                        msgtype.to_owned(),
                        RawMessage {
                            name: m.attribute("name").unwrap_or_default().to_owned(),
                            admin: m.attribute("msgcat") == Some("admin"),
                            items: items_of(path, m)?,
                        },
                    ));
                }
            }
            "components" => {
                for c in section.children().filter(roxmltree::Node::is_element) {
                    let name = c
                        .attribute("name")
                        .ok_or_else(|| invalid(path, "<component> without a name"))?;
                    raw.components.insert(name.to_owned(), items_of(path, c)?);
                }
            }
            "fields" => {
                for f in section.children().filter(roxmltree::Node::is_element) {
                    let number = f
                        .attribute("number")
                        .and_then(|n| n.parse::<u32>().ok())
                        .filter(|&n| n > 0)
                        .ok_or_else(|| invalid(path, "<field> without a valid number"))?;
                    let name = f
                        .attribute("name")
                        .ok_or_else(|| invalid(path, format!("field {number} has no name")))?;
                    let enums = f
                        .children()
                        .filter(|v| v.is_element() && v.tag_name().name() == "value")
                        .filter_map(|v| v.attribute("enum"))
                        .map(|e| e.as_bytes().to_vec())
                        .collect();
                    raw.fields.push((
                        number,
                        FieldDef {
                            name: name.to_owned(),
                            ty: Ty::from_name(f.attribute("type").unwrap_or("STRING")),
                            enums,
                        },
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(raw)
}

impl Raw {
    /// Merges `other` into `self` (see the module documentation for the rules).
    fn merge(&mut self, other: Raw) {
        if self.begin_string.is_empty() {
            self.begin_string = other.begin_string;
        }
        self.header.extend(other.header);
        self.trailer.extend(other.trailer);
        for (msgtype, m) in other.messages {
            match self.messages.iter_mut().find(|(t, _)| *t == msgtype) {
                Some((_, existing)) => existing.items.extend(m.items),
                None => self.messages.push((msgtype, m)),
            }
        }
        self.components.extend(other.components);
        let mut at: HashMap<u32, usize> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (*n, i))
            .collect();
        for (number, def) in other.fields {
            if let Some((_, existing)) = at.get(&number).and_then(|&i| self.fields.get_mut(i)) {
                // A known field: the extension adds enum values (a venue's custom OrdType...).
                existing.enums.extend(def.enums);
            } else {
                at.insert(number, self.fields.len());
                self.fields.push((number, def));
            }
        }
    }
}

struct Builder<'a> {
    raw: &'a Raw,
    names: HashMap<&'a str, u32>,
    path: &'a str,
}

impl Builder<'_> {
    fn tag(&self, name: &str) -> Result<u32, DictError> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| invalid(self.path, format!("field {name:?} is not defined")))
    }

    fn expand(
        &self,
        items: &[Item],
        required_ctx: bool,
        scope: &mut Scope,
        depth: usize,
    ) -> Result<(), DictError> {
        if depth > 64 {
            return Err(invalid(self.path, "components nested too deep (a cycle?)"));
        }
        for item in items {
            match item {
                Item::Field { name, required } => {
                    let tag = self.tag(name)?;
                    if scope.members.insert(tag) {
                        scope.order.push(tag);
                    }
                    if *required && required_ctx && !scope.required.contains(&tag) {
                        scope.required.push(tag);
                    }
                }
                Item::Component { name, required } => {
                    let items = self.raw.components.get(name).ok_or_else(|| {
                        invalid(self.path, format!("component {name:?} is not defined"))
                    })?;
                    self.expand(items, required_ctx && *required, scope, depth + 1)?;
                }
                Item::Group {
                    name,
                    required,
                    items,
                } => {
                    let tag = self.tag(name)?;
                    if scope.members.insert(tag) {
                        scope.order.push(tag);
                    }
                    if *required && required_ctx && !scope.required.contains(&tag) {
                        scope.required.push(tag);
                    }
                    let entry = scope.groups.entry(tag).or_default();
                    self.expand(items, true, entry, depth + 1)?;
                    if entry.order.is_empty() {
                        return Err(invalid(self.path, format!("group {name:?} is empty")));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Dictionary {
    /// Loads `path` (FIX42.xml, FIX44.xml, or FIXT11.xml) and, for FIXT 1.1, the application
    /// dictionary `app_path` (FIX50SP2.xml), whose fields and messages are added.
    ///
    /// # Errors
    /// [`DictError`] for an unreadable file, bad XML, or a reference to an undefined field or
    /// component.
    pub fn load(path: &str, app_path: Option<&str>) -> Result<Self, DictError> {
        let mut raw = read_raw(path)?;
        if let Some(app) = app_path {
            let mut app_raw = read_raw(app)?;
            // The application dictionary's header and trailer are the transport's.
            app_raw.header.clear();
            app_raw.trailer.clear();
            raw.merge(app_raw);
        }
        let mut dict = Self {
            raw,
            ..Self::default()
        };
        dict.build(app_path.unwrap_or(path))?;
        Ok(dict)
    }

    /// Adds a venue's extension file (see the module documentation).
    ///
    /// # Errors
    /// As [`Dictionary::load`]; the dictionary is unchanged on error.
    pub fn extend(&mut self, path: &str) -> Result<(), DictError> {
        let ext = read_raw(path)?;
        let mut next = self.clone();
        next.raw.merge(ext);
        next.build(path)?;
        *self = next;
        Ok(())
    }

    fn build(&mut self, path: &str) -> Result<(), DictError> {
        let raw = &self.raw;
        let mut fields = HashMap::with_capacity(raw.fields.len());
        let mut names = HashMap::with_capacity(raw.fields.len());
        for (number, def) in &raw.fields {
            names.insert(def.name.as_str(), *number);
            fields.insert(*number, def.clone());
        }
        let b = Builder { raw, names, path };
        let mut header = Scope::default();
        b.expand(&raw.header, true, &mut header, 0)?;
        let mut trailer = Scope::default();
        b.expand(&raw.trailer, true, &mut trailer, 0)?;
        let mut messages = HashMap::with_capacity(raw.messages.len());
        for (msgtype, m) in &raw.messages {
            let mut body = Scope::default();
            b.expand(&m.items, true, &mut body, 0)?;
            messages.insert(
                msgtype.clone(),
                MsgDef {
                    name: m.name.clone(),
                    admin: m.admin,
                    body,
                },
            );
        }
        self.fields = fields;
        self.header = header;
        self.trailer = trailer;
        self.messages = messages;
        Ok(())
    }

    /// The BeginString the dictionary describes (`FIX.4.4`, `FIXT.1.1`...).
    pub fn begin_string(&self) -> &str {
        &self.raw.begin_string
    }

    /// Number of fields defined.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Number of messages defined.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// True for a session-level (admin) message type.
    pub fn is_admin(&self, msg_type: &str) -> bool {
        self.messages.get(msg_type).is_some_and(|m| m.admin)
    }

    /// The field's name.
    pub fn field_name(&self, tag: u32) -> Option<&str> {
        self.fields.get(&tag).map(|f| f.name.as_str())
    }

    /// The message's name.
    pub fn message_name(&self, msg_type: &str) -> Option<&str> {
        self.messages.get(msg_type).map(|m| m.name.as_str())
    }

    /// The message's required body fields, top level (header, trailer and group members
    /// excluded), in definition order.
    pub fn required_fields(&self, msg_type: &str) -> Vec<u32> {
        self.messages
            .get(msg_type)
            .map(|m| m.body.required.clone())
            .unwrap_or_default()
    }

    /// Checks `index` (of `raw`) against the dictionary.
    ///
    /// # Errors
    /// The first [`Violation`] found.
    pub fn validate(&self, raw: &[u8], index: &MessageIndex) -> Result<(), Violation> {
        let mut w = Walker {
            dict: self,
            raw,
            fields: &index.fields,
            check: true,
            target: None,
            found: None,
        };
        w.walk()
    }

    /// The entries of the first `count_tag` group of the message (at any depth), each entry with
    /// its nested groups' fields; empty when the message has no such group.
    pub fn groups(&self, raw: &[u8], index: &MessageIndex, count_tag: u32) -> Vec<Vec<Field>> {
        let mut w = Walker {
            dict: self,
            raw,
            fields: &index.fields,
            check: false,
            target: Some(count_tag),
            found: None,
        };
        // A structural problem ends the walk; what was found before it is kept.
        let _ = w.walk();
        w.found.unwrap_or_default()
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Section {
    Header,
    Body,
    Trailer,
}

struct Walker<'a> {
    dict: &'a Dictionary,
    raw: &'a [u8],
    fields: &'a [Field],
    /// Check values, order and counts (validate) or only find groups (groups).
    check: bool,
    target: Option<u32>,
    found: Option<Vec<Vec<Field>>>,
}

impl Walker<'_> {
    fn value_check(&self, f: &Field) -> Result<(), Violation> {
        if !self.check {
            return Ok(());
        }
        if f.tag == 0 {
            return Err(violation(0, Some(0)));
        }
        let Some(def) = self.dict.fields.get(&f.tag) else {
            return Err(violation(3, Some(f.tag)));
        };
        let v = f.value(self.raw);
        if v.is_empty() {
            return Err(violation(4, Some(f.tag)));
        }
        if !def.ty.accepts(v) {
            return Err(violation(6, Some(f.tag)));
        }
        if !def.enums.is_empty() {
            let ok = if matches!(def.ty, Ty::MultiChar | Ty::MultiStr) {
                v.split(|&b| b == b' ').all(|p| def.enums.contains(p))
            } else {
                def.enums.contains(v)
            };
            if !ok {
                return Err(violation(5, Some(f.tag)));
            }
        }
        Ok(())
    }

    fn walk(&mut self) -> Result<(), Violation> {
        let d = self.dict;
        let msg_type = self
            .fields
            .get(2)
            .filter(|f| f.tag == 35)
            .map(|f| f.value(self.raw))
            .ok_or_else(|| violation(1, Some(35)))?;
        let msg = std::str::from_utf8(msg_type)
            .ok()
            .and_then(|t| d.messages.get(t));
        let Some(msg) = msg else {
            if !self.check {
                return Ok(());
            }
            let known = d
                .fields
                .get(&35)
                .is_some_and(|f| f.enums.contains(msg_type));
            let mut v = violation(11, Some(35));
            v.business = known;
            return Err(v);
        };
        let mut seen: HashSet<u32> = HashSet::with_capacity(self.fields.len());
        let mut section = Section::Header;
        let mut i = 0;
        while let Some(f) = self.fields.get(i) {
            let tag = f.tag;
            self.value_check(f)?;
            let scope = if d.header.members.contains(&tag) {
                if section != Section::Header && self.check {
                    return Err(violation(14, Some(tag)));
                }
                &d.header
            } else if d.trailer.members.contains(&tag) {
                section = Section::Trailer;
                &d.trailer
            } else {
                if section == Section::Trailer && self.check {
                    return Err(violation(14, Some(tag)));
                }
                section = Section::Body;
                if !msg.body.members.contains(&tag) {
                    if self.check {
                        return Err(violation(2, Some(tag)));
                    }
                    i += 1;
                    continue;
                }
                &msg.body
            };
            if !seen.insert(tag) && self.check {
                return Err(violation(13, Some(tag)));
            }
            i = match scope.groups.get(&tag) {
                Some(group) => self.walk_group(group, i)?,
                None => i + 1,
            };
        }
        if self.check {
            for scope in [&d.header, &msg.body, &d.trailer] {
                if let Some(&missing) = scope.required.iter().find(|t| !seen.contains(t)) {
                    return Err(violation(1, Some(missing)));
                }
            }
        }
        Ok(())
    }

    /// Walks the group whose count field is `fields[i]`; returns the index after the group.
    fn walk_group(&mut self, group: &Scope, i: usize) -> Result<usize, Violation> {
        let count_field = self.fields[i];
        let count_tag = count_field.tag;
        let count = parse_u64(count_field.value(self.raw)).ok_or(violation(6, Some(count_tag)))?;
        let delim = group.order.first().copied().unwrap_or(0);
        let mut i = i + 1;
        let mut entries: Vec<(usize, usize)> = Vec::new();
        if count > 0 && self.check && self.fields.get(i).is_some_and(|f| f.tag != delim) {
            let f = self.fields[i];
            if group.members.contains(&f.tag) {
                return Err(violation(15, Some(f.tag)));
            }
        }
        while self.fields.get(i).is_some_and(|f| f.tag == delim) {
            let start = i;
            let mut seen: HashSet<u32> = HashSet::new();
            while let Some(f) = self.fields.get(i) {
                let tag = f.tag;
                if (tag == delim && !seen.is_empty()) || !group.members.contains(&tag) {
                    break;
                }
                self.value_check(f)?;
                if !seen.insert(tag) && self.check {
                    return Err(violation(15, Some(tag)));
                }
                i = match group.groups.get(&tag) {
                    Some(sub) => self.walk_group(sub, i)?,
                    None => i + 1,
                };
            }
            if self.check {
                if let Some(&missing) = group.required.iter().find(|t| !seen.contains(t)) {
                    return Err(violation(1, Some(missing)));
                }
            }
            entries.push((start, i));
        }
        if self.check && entries.len() as u64 != count {
            return Err(violation(16, Some(count_tag)));
        }
        if self.target == Some(count_tag) && self.found.is_none() {
            self.found = Some(
                entries
                    .iter()
                    .map(|&(a, b)| self.fields[a..b].to_vec())
                    .collect(),
            );
        }
        Ok(i)
    }
}
