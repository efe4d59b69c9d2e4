/** `npm run readme`: rewrites the README's configuration table from the settings table (a test checks they agree). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { settingsMarkdown } from './help.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const BLOCK = /(<!-- settings -->\n)[\s\S]*?(<!-- \/settings -->)/;

const text = readFileSync(README, 'utf8');
if (!BLOCK.test(text)) throw new Error('README.md has no <!-- settings --> … <!-- /settings --> block');
writeFileSync(README, text.replace(BLOCK, (_match, open: string, close: string) => `${open}${settingsMarkdown()}\n${close}`));
