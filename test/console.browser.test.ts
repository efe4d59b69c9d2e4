/**
 * The web console in a real browser: headless Chromium drives the page
 * served by the real server. A demo human-in-the-loop turn; one state shown
 * everywhere after every step of a turn an agent takes step by step; actions
 * only where they can act; whole badges; a legible statechart and its
 * overlay; agent-specific hints; a shared link at phone width. Screenshots go
 * to test-results/; with BAMBOO_UPDATE_DOCS=1 also to docs/ for the README.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionMachine } from '../machines/session.machine.js';
import { machineSvg, type MachineJson } from '../src/diagrams/index.js';
import {
  OUT, api, createSession, eventSeqs, expectConsistent, expectStep, recordRenders, renders, sessionState, shown, skipBrowser, startRig, watch,
  type ConsoleRig,
} from './console/helpers.js';

const updateDocs = process.env.BAMBOO_UPDATE_DOCS === '1';
/** The console never lets diagram text shrink below 11 CSS px (diagram.js); a little slack for float maths. */
const LEGIBLE_PX = 10.9;

describe.skipIf(skipBrowser)('web console (headless Chromium)', () => {
  let rig: ConsoleRig;
  let sessionId: string;

  beforeAll(async () => {
    rig = await startRig();
  }, 60_000);
  afterAll(() => rig?.close());

  const open = (path: string) => rig.open(path);

  it('creates a session and runs a full HITL turn: ask, click red, see the reply', async () => {
    const page = await open('/');
    const problems = watch(page);

    await page.getByLabel('Title of the new session').fill('Colours');
    await page.getByRole('button', { name: 'New session' }).click();
    await page.waitForURL(/\?session=ses_/);
    sessionId = new URL(page.url()).searchParams.get('session')!;
    await expect.poll(() => page.getByRole('heading', { level: 2, name: 'Colours' }).isVisible()).toBe(true);
    // The demo agent's commands are offered on demo sessions.
    expect(await page.getByLabel('Message').getAttribute('placeholder')).toContain('/ask');

    const chat = page.getByRole('log', { name: 'Conversation' });
    await page.getByLabel('Message').fill('hello world');
    await page.getByLabel('Message').press('Enter');
    await chat.getByText('Echo: hello world').waitFor();

    await page.getByLabel('Message').fill('/ask Pick one | red | blue');
    await page.getByRole('button', { name: 'Send' }).click();
    const answers = page.getByRole('group', { name: 'Answers' });
    await answers.getByRole('button', { name: 'red', exact: true }).waitFor();
    expect(await page.locator('#question-text').textContent()).toBe('Pick one');
    expect(await answers.getByRole('button').allTextContents()).toEqual(['red', 'blue']);
    expect(await page.getByLabel('Your answer').isVisible()).toBe(false);
    await expectStep(page, 'awaitingUser', 'demo, asking', { answer: true, resume: false });

    await answers.getByRole('button', { name: 'red', exact: true }).click();
    await chat.getByText('You answered: red').waitFor();
    await expectStep(page, 'completed', 'demo, completed', { answer: false, resume: false, cancel: false });
    expect(await page.getByRole('img', { name: /statechart; the current state, completed, is highlighted/ }).isVisible()).toBe(true);

    const log = page.getByRole('list', { name: 'Event log' });
    await log.getByText('question_answered').waitFor();
    await expect.poll(() => log.getByText('running → completed').count()).toBe(2);
    await expect.poll(() => page.getByRole('navigation').getByRole('button', { name: /Colours/ }).textContent()).toContain('completed');

    await page.waitForTimeout(200);
    await page.screenshot({ path: join(OUT, 'console.png') });
    if (updateDocs) {
      mkdirSync('docs', { recursive: true });
      await page.screenshot({ path: 'docs/console.png' });
      writeFileSync('docs/diagram.svg', await (await fetch(`${rig.server.url}/api/v1/machines/session.svg`)).text());
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows one state in the list, header, statechart and actions after every step of a HITL turn', async () => {
    const id = await createSession(rig.server.url, { title: 'Stepped turn', agent: 'gated' });
    const page = await open(`/?session=${id}`);
    const problems = watch(page);
    await expectStep(page, 'idle', 'a new session', { resume: false, cancel: false, answer: false, compose: true });
    await recordRenders(page);

    await page.getByLabel('Message').fill('pick a colour');
    await page.getByLabel('Message').press('Enter');
    const first = await rig.gated.next();
    await expectStep(page, 'running', 'after send, while running', { resume: false, cancel: true, answer: false, compose: false });

    first.settle({ kind: 'awaitingUser', question: { text: 'Pick one', options: ['red', 'blue'] } });
    await expectStep(page, 'awaitingUser', 'when asking', { resume: false, cancel: false, answer: true, compose: false });

    await page.getByRole('group', { name: 'Answers' }).getByRole('button', { name: 'red' }).click();
    const second = await rig.gated.next();
    expect(second.ctx.messages.at(-1)).toMatchObject({ role: 'tool', content: 'red' });
    await expectStep(page, 'running', 'after answering', { resume: false, cancel: true, answer: false, compose: false });

    second.settle({ kind: 'completed', message: 'You picked red' });
    await expectStep(page, 'completed', 'when completed', { resume: false, cancel: false, answer: false, compose: true });
    await page.getByRole('log', { name: 'Conversation' }).getByText('You picked red').waitFor();

    // Every render on the way agreed with itself, the transient ones too, and each state the log records was shown.
    const all = await renders(page);
    all.forEach((render, index) => expectConsistent(render, `render ${index + 1} (${render.header})`));
    const moves = (await eventSeqs(rig.server.url, id)).filter((event) => event.type === 'state_changed').map((event) => event.to);
    const distinct = (states: (string | undefined)[]) => states.filter((state, index) => index === 0 || state !== states[index - 1]);
    expect(distinct(all.map((render) => render.header))).toEqual(distinct(['idle', ...moves]));
    expect(problems).toEqual([]);
    await page.close();
  });

  it('offers Resume only for pending work with no run, and Resume runs it', async () => {
    const id = await createSession(rig.server.url, { title: 'Resume me', agent: 'gated' });
    const page = await open(`/?session=${id}`);
    const problems = watch(page);
    await page.getByLabel('Message').fill('do the work');
    await page.getByLabel('Message').press('Enter');
    await rig.gated.next();
    await expectStep(page, 'running', 'running', { resume: false, cancel: true });

    await page.getByRole('button', { name: 'Cancel run' }).click();
    await expectStep(page, 'idle', 'after cancel', { resume: true, cancel: false, compose: true });
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    const retry = await rig.gated.next();
    await expectStep(page, 'running', 'resumed', { resume: false, cancel: true });

    retry.fail(new Error('model unavailable'));
    await expectStep(page, 'idle', 'after a failed run', { resume: true, cancel: false });
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    (await rig.gated.next()).settle({ kind: 'completed', message: 'done at last' });
    await expectStep(page, 'completed', 'completed', { resume: false, cancel: false, answer: false });
    expect(await page.locator('#status-line').textContent()).not.toContain('Nothing to resume');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('tells the conversation as the transcript has it: queued, rolled back, withdrawn, cut off', async () => {
    const id = await createSession(rig.server.url, { title: 'Multitask', agent: 'gated' });
    const page = await open(`/?session=${id}`);
    const problems = watch(page);
    const chat = page.getByRole('log', { name: 'Conversation' });
    const bubbles = () => chat.locator('li:not(.note)').evaluateAll((items) => items.map((item) => `${item.querySelector('.role')?.textContent}: ${item.querySelector('.text')?.textContent}`));

    await api(rig.server.url, 'POST', `/sessions/${id}/messages`, { content: 'first' });
    const first = await rig.gated.next();
    await first.ctx.emit({ type: 'token', text: 'half a rep' });
    // Queued while busy: shown as queued, then where it joins the transcript.
    await api(rig.server.url, 'POST', `/sessions/${id}/messages`, { content: 'later', multitask_strategy: 'enqueue' });
    await expect.poll(bubbles).toEqual(['You: first', 'Agent: half a rep', 'You (queued): later']);
    // Cancelled mid-reply: the streamed text is marked as not kept; the queued message runs.
    await api(rig.server.url, 'POST', `/sessions/${id}/cancel`);
    const second = await rig.gated.next();
    await expect.poll(bubbles).toEqual(['You: first', 'Agent (cut off, not kept): half a rep', 'You: later']);
    second.settle({ kind: 'awaitingUser', question: { text: 'Sure?', options: ['yes', 'no'] } });
    await expectStep(page, 'awaitingUser', 'asking', { answer: true });
    // Rolled back while asking: the unfinished turn (both messages since the last reply) leaves the conversation, as it
    // leaves the transcript; the question is withdrawn.
    await api(rig.server.url, 'POST', `/sessions/${id}/messages`, { content: 'instead', multitask_strategy: 'rollback' });
    (await rig.gated.next()).settle({ kind: 'completed', message: 'done' });
    await expect.poll(bubbles).toEqual(['Agent (cut off, not kept): half a rep', 'Agent asked (withdrawn): Sure? (yes / no)', 'You: instead', 'Agent: done']);
    const transcript = await api<{ messages: { content: string }[] }>(rig.server.url, 'GET', `/sessions/${id}/messages`);
    expect(transcript.messages.map((message) => message.content)).toEqual(['instead', 'done']);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('sends once however fast the New session button or Enter is pressed twice', async () => {
    const page = await open('/');
    const problems = watch(page);
    const before = (await api<{ sessions: unknown[] }>(rig.server.url, 'GET', '/sessions?limit=200')).sessions.length;
    await page.getByLabel('Title of the new session').fill('Twice');
    await page.getByRole('button', { name: 'New session' }).dblclick();
    await page.waitForURL(/\?session=ses_/);
    const id = new URL(page.url()).searchParams.get('session')!;
    await page.waitForTimeout(300);
    expect((await api<{ sessions: unknown[] }>(rig.server.url, 'GET', '/sessions?limit=200')).sessions.length).toBe(before + 1);

    await page.getByLabel('Message').fill('/sleep 300');
    await page.getByLabel('Message').press('Enter');
    await page.getByLabel('Message').press('Enter');
    await expectStep(page, 'completed', 'after the run', {});
    expect((await eventSeqs(rig.server.url, id)).filter((event) => event.type === 'message_appended').map(() => 1)).toHaveLength(2);
    expect(await page.locator('#alert').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('keeps state badges whole at 1280 and 1366 px with 19-character titles; the titles are cut instead', async () => {
    const titles = { awaitingUser: 'Quarterly report 19', completed: 'Deploy checklist v2', running: 'Customer follow-ups', idle: 'Onboarding new team' };
    const asking = await createSession(rig.server.url, { title: titles.awaitingUser });
    await api(rig.server.url, 'POST', `/sessions/${asking}/messages`, { content: '/ask Pick one | red | blue' });
    const done = await createSession(rig.server.url, { title: titles.completed });
    await api(rig.server.url, 'POST', `/sessions/${done}/messages`, { content: 'hi' });
    const busy = await createSession(rig.server.url, { title: titles.running, agent: 'gated' });
    await api(rig.server.url, 'POST', `/sessions/${busy}/messages`, { content: 'hold on' });
    const held = await rig.gated.next();
    await createSession(rig.server.url, { title: titles.idle });
    await expect.poll(() => Promise.all([sessionState(rig.server.url, asking), sessionState(rig.server.url, done)])).toEqual(['awaitingUser', 'completed']);

    const page = await open(`/?session=${asking}`);
    for (const width of [1280, 1366]) {
      await page.setViewportSize({ width, height: 820 });
      const nav = page.getByRole('navigation');
      for (const [state, title] of Object.entries(titles)) {
        await expect.poll(() => nav.getByRole('button', { name: title }).locator('.badge').textContent()).toBe(state);
      }
      const items = await page.locator('#session-list li').evaluateAll((list) =>
        list.map((item) => {
          const name = item.querySelector('.name')!;
          const badge = item.querySelector<HTMLElement>('.badge')!;
          const box = item.closest('ul')!.getBoundingClientRect();
          const rect = badge.getBoundingClientRect();
          return {
            title: name.textContent,
            badge: badge.textContent,
            whole: badge.scrollWidth <= badge.clientWidth && rect.right <= box.right + 0.5 && rect.left >= name.getBoundingClientRect().right - 0.5,
            nameCut: name.scrollWidth > name.clientWidth,
            ellipsis: getComputedStyle(name).textOverflow,
          };
        }),
      );
      for (const item of items.filter((entry) => Object.values(titles).includes(entry.title!))) {
        expect(item, `${width}px: ${item.title}`).toMatchObject({ whole: true, ellipsis: 'ellipsis' });
      }
      // The squeeze is real: at these widths the longest badge leaves too little room for its title.
      expect(items.find((item) => item.title === titles.awaitingUser)?.nameCut, `${width}px`).toBe(true);
    }
    held.settle({ kind: 'completed', message: 'done' });
    await page.close();
  });

  it('draws the statechart legibly in the sidebar and fully in an overlay that Esc or Close shuts', async () => {
    const { machine } = await api<{ machine: MachineJson }>(rig.server.url, 'GET', '/machines/session');
    const page = await open(`/?session=${sessionId}`);
    const problems = watch(page);
    await expectStep(page, 'completed', 'opened', {});

    const sidebar = await diagramText(page, '#diagram');
    for (const text of sidebar.texts) expect(text.px, text.text).toBeGreaterThanOrEqual(LEGIBLE_PX);
    for (const state of machine.states) expect(sidebar.texts.map((text) => text.text)).toContain(state.key);
    for (const label of leavingEvents(machine)) expect(writesEvent(sidebar.texts.map((text) => text.text), label), label).toBe(true);
    expect(sidebar.inside).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);

    const dialog = page.getByRole('dialog', { name: /Session statechart/ });
    await page.getByRole('button', { name: 'Enlarge' }).click();
    await dialog.waitFor();
    await page.locator('#diagram-full svg').waitFor();
    const full = await diagramText(page, '#diagram-full');
    const captions = full.texts.map((text) => text.text).join('\n');
    for (const guard of machine.states.flatMap((state) => state.transitions.map((t) => t.guard).filter((g) => g !== null))) expect(captions).toContain(guard);
    for (const action of machine.states.flatMap((state) => state.transitions.flatMap((t) => t.actions))) expect(captions).toContain(action);
    for (const text of full.texts) expect(text.px, text.text).toBeGreaterThanOrEqual(LEGIBLE_PX);
    expect(await page.locator('#diagram-full').getAttribute('data-state')).toBe('completed');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);

    await page.locator('#diagram').click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits the compact statechart (?detail=compact) in the sidebar without scrolling', async () => {
    const { machine } = await api<{ machine: MachineJson }>(rig.server.url, 'GET', '/machines/session');
    const page = await rig.context.newPage();
    await page.goto(`${rig.server.url}/?session=${sessionId}`);
    await expectStep(page, 'completed', 'compact', {});
    expect(await page.locator('#diagram').getAttribute('data-detail')).toBe('compact');
    const sidebar = await diagramText(page, '#diagram');
    expect(sidebar.scrolls).toBe(false);
    for (const text of sidebar.texts) expect(text.px, text.text).toBeGreaterThanOrEqual(LEGIBLE_PX);
    const texts = sidebar.texts.map((text) => text.text);
    for (const state of machine.states) expect(texts).toContain(state.key);
    for (const label of leavingEvents(machine)) expect(writesEvent(texts, label), label).toBe(true);
    await page.close();
  });

  it('hints follow the session’s agent: demo commands for demo, a neutral prompt for any other', async () => {
    await createSession(rig.server.url, { title: 'Model session', agent: 'openai' });
    const demo = await createSession(rig.server.url, { title: 'Demo session', agent: 'demo' });
    const page = await open(`/?session=${demo}`);
    const composer = page.locator('#composer');
    const texts = async () => `${await page.getByLabel('Message').getAttribute('placeholder')} ${await composer.textContent()}`;
    await expect.poll(texts).toContain('/ask');

    await page.getByRole('navigation').getByRole('button', { name: /Model session/ }).click();
    await page.getByRole('heading', { level: 2, name: 'Model session' }).waitFor();
    expect(await page.getByLabel('Message').getAttribute('placeholder')).toBe('Message the agent…');
    expect(await texts()).not.toMatch(/\/ask|\/sleep|\/fail/);

    await page.getByRole('navigation').getByRole('button', { name: /Demo session/ }).click();
    await page.getByRole('heading', { level: 2, name: 'Demo session' }).waitFor();
    await expect.poll(texts).toContain('/ask');
    await page.close();
  });

  it('opens a shared link /?session=ID directly, at phone width too', async () => {
    const page = await rig.context.newPage();
    const problems = watch(page);
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`${rig.server.url}/?session=${sessionId}`);

    const chat = page.getByRole('log', { name: 'Conversation' });
    await chat.getByText('You answered: red').waitFor();
    expect(await chat.getByText('Pick one (red / blue)').isVisible()).toBe(true);
    expect(await page.getByRole('heading', { level: 2, name: 'Colours' }).isVisible()).toBe(true);
    await page.locator('#diagram svg').waitFor();
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await page.getByLabel('Message').isVisible()).toBe(true);

    await page.screenshot({ path: join(OUT, 'console-phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows an unknown session as an error, not a blank page', async () => {
    const page = await open('/?session=ses_nope');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('session_not_found');
    expect(await page.getByRole('heading', { name: 'No session selected' }).isVisible()).toBe(true);
    await page.close();
  });
});

/** Every event that changes state, as diagrams label it. */
function leavingEvents(machine: MachineJson): string[] {
  return [...new Set(machine.states.flatMap((state) => state.transitions.filter((t) => t.target !== null && t.target !== state.path).map((t) => t.label)))];
}

/** The compact picture writes an event in full, or as `.member` below its family's name. */
function writesEvent(texts: readonly string[], label: string): boolean {
  const member = label.includes('.') ? `.${label.slice(label.indexOf('.') + 1)}` : label;
  return texts.some((text) => text.trim() === label || text.trim() === member);
}

/** Each text of a diagram frame with its rendered size in CSS px; whether the frame scrolls or sticks out of its panel. */
function diagramText(page: Page, selector: string) {
  return page.locator(selector).evaluate((frame) => {
    const svg = frame.querySelector('svg')!;
    const scale = svg.getScreenCTM()!.a;
    const rect = frame.getBoundingClientRect();
    const panel = frame.parentElement!.getBoundingClientRect();
    return {
      texts: [...svg.querySelectorAll('text')].map((text) => ({ text: text.textContent ?? '', px: Number(text.getAttribute('font-size')) * scale })),
      scrolls: frame.scrollWidth > frame.clientWidth,
      inside: rect.left >= panel.left && rect.right <= panel.right,
    };
  });
}
