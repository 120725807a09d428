-- Dependent features (Unleash): a flag is on only when its parents are in the required
-- state. JSON array of {"feature", "enabled"?, "variants"?}.
ALTER TABLE flags ADD COLUMN dependencies TEXT NOT NULL DEFAULT '[]';
