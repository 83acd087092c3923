import { afterEach, describe, expect, it } from 'vitest';
import { getJob } from '../../src/main/jobs/job-store';
import { getStoryboard } from '../../src/main/story/film-reader';
import { filmUsage } from '../../src/main/plot/tree-store';
import { startFakeOpenAI, validAnswer, validScript, type FakeServer } from './fake-openai';
import { SMALL, fastProvider, filmContent, generate, newProject, nodeStatuses } from './helpers';

const servers: FakeServer[] = [];
async function server(script: Parameters<typeof startFakeOpenAI>[0]) {
  const s = await startFakeOpenAI(script);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const nodesOf = (b = SMALL) => 1 + b.chapters + b.chapters * b.subchapters;

describe('plot generation against an OpenAI-compatible server', () => {
  it('builds the whole film from valid answers, level by level, into the story tables', async () => {
    const s = await server(validScript(SMALL));
    const project = newProject();
    const changes: string[] = [];
    const { filmIds, jobId, events } = await (async () => {
      const r = generate(project, { themes: ['a lighthouse keeper in winter'], breadth: SMALL, provider: fastProvider(s.baseUrl) });
      return r;
    })();
    void events; void changes;
    const filmId = filmIds[0];
    expect(getJob(project.db, jobId)!.status).toBe('done');
    const sb = getStoryboard(project.db, filmId);
    expect(sb.film.source).toBe('llm');
    expect(sb.film.title).toBe('The Lantern Keeper');
    expect(sb.film.styleKeyword).toBe('Dramatic');
    expect(sb.chapters).toHaveLength(SMALL.chapters);
    expect(sb.subchapters).toHaveLength(SMALL.chapters * SMALL.subchapters);
    expect(sb.frames).toHaveLength(SMALL.chapters * SMALL.subchapters * SMALL.frames);
    expect(sb.dialogue).toHaveLength(SMALL.chapters * SMALL.subchapters * SMALL.dialogueLines);
    expect(sb.characters.map((c) => c.lookalike)).toContain('a man looks like Ryan Gosling in navy blue');
    // QA in the release's order: describe, level 1, level 2, then level 3 pairs.
    const qa = sb.qa;
    expect(qa[0]).toMatchObject({ scope: 'film', kind: 'describe', answer: sb.film.overview });
    expect(qa).toHaveLength(1 + SMALL.chapters * 2 + SMALL.chapters * SMALL.subchapters * SMALL.qaPairs);
    expect(qa.slice(1, 1 + SMALL.chapters).every((q) => q.scope === 'chapter' && q.kind === 'what')).toBe(true);
    expect(qa.at(-1)!.scope).toBe('subchapter');
    // One request per node, each carrying its JSON Schema as response_format.
    const chat = s.log.filter((r) => r.path.endsWith('/chat/completions'));
    expect(chat).toHaveLength(nodesOf());
    expect(new Set(chat.map((r) => r.node)).size).toBe(nodesOf());
    expect(chat.every((r) => r.body.response_format?.type === 'json_schema')).toBe(true);
    const l3 = chat.find((r) => r.node === 'c0.s0')!;
    expect(l3.body.response_format.json_schema.schema.properties.frames.minItems).toBe(SMALL.frames);
    expect(l3.body.model).toBe('fake-small');
    // Children are only asked after their parent's answer was committed.
    const endOf = (k: string) => s.log.find((r) => r.node === k)!.endedAt!;
    expect(chat.filter((r) => r.node!.includes('.')).every((r) => r.startedAt >= endOf(r.node!.split('.')[0]))).toBe(true);
    expect(filmUsage(project.db, filmId)).toEqual({ requests: nodesOf(), promptTokens: 100 * nodesOf(), completionTokens: 50 * nodesOf() });
    const node = project.db.prepare("SELECT model, template_id, requests FROM plot_node WHERE film_id = ? AND key = 'c1.s2'").get(filmId) as any;
    expect(node.model).toBe('fake-small');
    expect(node.template_id).toBeGreaterThan(0);
    project.close();
  });

  it('accepts fenced JSON and JSON wrapped in prose', async () => {
    const s = await server((req) => {
      const json = JSON.stringify(validAnswer(req.node!, SMALL), null, 2);
      return { content: req.node!.includes('.') ? `Sure! Here is the storyboard:\n${json}\nHope this helps {not json}.` : `\`\`\`json\n${json}\n\`\`\`` };
    });
    const project = newProject();
    const { filmIds } = await generate(project, { themes: ['t'], breadth: SMALL, provider: fastProvider(s.baseUrl) });
    expect(Object.values(nodeStatuses(project, filmIds[0])).every((x) => x === 'done')).toBe(true);
    expect(s.log).toHaveLength(nodesOf());
    project.close();
  });

  it('re-asks with the validation errors quoted and accepts the fixed answer', async () => {
    const s = await server((req, attempt) => {
      const a: any = validAnswer(req.node!, SMALL);
      if (req.node === 'film' && attempt === 0) a.styleKeyword = 'Very Dramatic';
      if (req.node === 'c1.s1' && attempt === 0) a.frames = a.frames.slice(1);
      return { content: JSON.stringify(a) };
    });
    const project = newProject();
    const { filmIds } = await generate(project, { themes: ['t'], breadth: SMALL, provider: fastProvider(s.baseUrl) });
    expect(Object.values(nodeStatuses(project, filmIds[0])).every((x) => x === 'done')).toBe(true);
    const film = s.log.filter((r) => r.node === 'film');
    expect(film).toHaveLength(2);
    const reask = film[1].body.messages.at(-1).content as string;
    expect(reask).toContain('styleKeyword');
    expect(reask).toContain('one word');
    expect(film[1].body.messages.at(-2)).toMatchObject({ role: 'assistant' });
    const sub = s.log.filter((r) => r.node === 'c1.s1');
    expect(sub).toHaveLength(2);
    expect(sub[1].body.messages.at(-1).content).toMatch(/frames/);
    expect(getStoryboard(project.db, filmIds[0]).film.styleKeyword).toBe('Dramatic');
    const usage = project.db.prepare("SELECT requests FROM plot_node WHERE film_id = ? AND key = 'c1.s1'").get(filmIds[0]) as any;
    expect(usage.requests).toBe(2);
    project.close();
  });

  it('marks a node that stays invalid as failed, keeps its raw answer, and finishes the rest of the film', async () => {
    const bad = 'I cannot write JSON today.';
    const s = await server((req) => (req.node === 'c1' ? { content: bad } : { content: JSON.stringify(validAnswer(req.node!, SMALL)) }));
    const project = newProject();
    const { filmIds, jobId } = await generate(project, { themes: ['t'], breadth: SMALL, provider: fastProvider(s.baseUrl, { reasks: 2 }) });
    const st = nodeStatuses(project, filmIds[0]);
    expect(st.c1).toBe('failed');
    expect(Object.keys(st).filter((k) => k.startsWith('c1.'))).toEqual([]);
    expect(Object.entries(st).filter(([k]) => k !== 'c1').every(([, v]) => v === 'done')).toBe(true);
    expect(s.log.filter((r) => r.node === 'c1')).toHaveLength(3); // first ask + 2 re-asks
    const row = project.db.prepare("SELECT raw_answer, error_json FROM plot_node WHERE film_id = ? AND key = 'c1'").get(filmIds[0]) as any;
    expect(row.raw_answer).toBe(bad);
    expect(JSON.parse(row.error_json).code).toBe('plot.answer_invalid');
    expect(getJob(project.db, jobId)!.status).toBe('done');
    expect(getJob(project.db, jobId)!.message).toMatch(/1 node\(s\) failed/);
    expect(getStoryboard(project.db, filmIds[0]).frames).toHaveLength((SMALL.chapters - 1) * SMALL.subchapters * SMALL.frames);
    project.close();
  });

  it('waits as long as Retry-After says on 429, and retries 500s', async () => {
    const s = await server((req, attempt) => {
      if (req.node === 'film' && attempt === 0) return { status: 429, headers: { 'retry-after': '1' } };
      if (req.node === 'c0' && attempt < 2) return { status: 500 };
      return { content: JSON.stringify(validAnswer(req.node!, SMALL)) };
    });
    const project = newProject();
    const { filmIds } = await generate(project, { themes: ['t'], breadth: SMALL, provider: fastProvider(s.baseUrl) });
    expect(Object.values(nodeStatuses(project, filmIds[0])).every((x) => x === 'done')).toBe(true);
    const film = s.log.filter((r) => r.node === 'film');
    expect(film.map((r) => r.status)).toEqual([429, 200]);
    expect(film[1].startedAt - film[0].endedAt!).toBeGreaterThanOrEqual(950);
    expect(s.log.filter((r) => r.node === 'c0').map((r) => r.status)).toEqual([500, 500, 200]);
    const c0 = project.db.prepare("SELECT requests FROM plot_node WHERE film_id = ? AND key = 'c0'").get(filmIds[0]) as any;
    expect(c0.requests).toBe(3);
    project.close();
  });

  it('retries a timed-out request and a dropped connection; a node whose retries run out fails alone', async () => {
    const s = await server((req, attempt) => {
      if (req.node === 'c0' && attempt === 0) return { hang: true };
      if (req.node === 'c1' && attempt === 0) return { destroy: true };
      if (req.node === 'c2') return { status: 503 };
      return { content: JSON.stringify(validAnswer(req.node!, SMALL)) };
    });
    const project = newProject();
    const { filmIds } = await generate(project, { themes: ['t'], breadth: SMALL, provider: fastProvider(s.baseUrl, { timeoutMs: 1500, retries: 2 }) });
    const st = nodeStatuses(project, filmIds[0]);
    expect(st.c0).toBe('done');
    expect(st.c1).toBe('done');
    expect(st.c2).toBe('failed');
    expect(s.log.filter((r) => r.node === 'c0')).toHaveLength(2);
    expect(s.log.filter((r) => r.node === 'c2')).toHaveLength(3);
    const err = JSON.parse((project.db.prepare("SELECT error_json FROM plot_node WHERE film_id = ? AND key = 'c2'").get(filmIds[0]) as any).error_json);
    expect(err).toMatchObject({ code: 'plot.request_failed', details: { status: 503, attempts: 3 } });
    project.close();
  });

  it('fails every node cleanly when the connection is refused', async () => {
    const s = await server(validScript(SMALL));
    const deadUrl = s.baseUrl;
    await s.close();
    servers.length = 0;
    const project = newProject();
    const { filmIds, jobId } = await generate(project, { themes: ['t'], breadth: SMALL, provider: fastProvider(deadUrl, { retries: 2 }) });
    const st = nodeStatuses(project, filmIds[0]);
    expect(st).toEqual({ film: 'failed' });
    const row = project.db.prepare("SELECT requests, error_json FROM plot_node WHERE film_id = ?").get(filmIds[0]) as any;
    expect(row.requests).toBe(3);
    expect(JSON.parse(row.error_json).message).toMatch(/request failed.*after 3 attempts/);
    expect(getJob(project.db, jobId)!.status).toBe('done');
    project.close();
  });

  it('cancel mid-run then resume: no finished node is asked again and the film equals an uninterrupted run', async () => {
    const ref = await server(validScript(SMALL, 2));
    const refProject = newProject();
    const { filmIds: [refFilm] } = await generate(refProject, { themes: ['t'], breadth: SMALL, provider: fastProvider(ref.baseUrl, { maxConcurrency: 3 }) });

    // Chapter 3's subchapters hang until released, so something is surely in flight at cancel time.
    let release = false;
    const s = await server((req) => (req.node!.startsWith('c2.') && !release
      ? { hang: true } : { content: JSON.stringify(validAnswer(req.node!, SMALL)), delayMs: 2 }));
    const project = newProject();
    const { EventBus } = await import('../../src/main/app/event-bus');
    const { JobRunner } = await import('../../src/main/jobs/runner');
    const { plotJobKind } = await import('../../src/main/plot/plot-job');
    const { startFilms } = await import('../../src/main/plot/plot-service');
    const runner = new JobRunner(project, new EventBus(), [plotJobKind]);
    runner.start();
    const { filmIds: [filmId], job } = startFilms(project.db, runner, { themes: ['t'], breadth: SMALL, provider: fastProvider(s.baseUrl, { maxConcurrency: 3 }) });
    // Cancel once a few level-3 nodes are done and a hanging one is in flight.
    const doneL3 = () => (project.db.prepare("SELECT count(*) AS n FROM plot_node WHERE film_id = ? AND level = 3 AND status = 'done'").get(filmId) as any).n;
    while (doneL3() < 3 || !s.log.some((r) => r.node!.startsWith('c2.') && r.endedAt === undefined)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    runner.cancel(job.id);
    await runner.whenIdle();
    expect(getJob(project.db, job.id)!.status).toBe('cancelled');
    const doneBefore = new Set((project.db.prepare("SELECT key FROM plot_node WHERE film_id = ? AND status = 'done'").all(filmId) as any[]).map((r) => r.key));
    expect(doneBefore.size).toBeGreaterThanOrEqual(1 + SMALL.chapters + 3);
    expect(doneBefore.size).toBeLessThan(nodesOf());
    // The requests in flight at cancel time were aborted, not waited for.
    for (let i = 0; i < 200 && s.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.inFlight).toBe(0);
    expect(s.log.some((r) => r.aborted)).toBe(true);
    release = true;
    const before = s.log.length;

    runner.resume(job.id);
    await runner.whenIdle();
    expect(getJob(project.db, job.id)!.status).toBe('done');
    const afterResume = s.log.slice(before);
    expect(afterResume.filter((r) => doneBefore.has(r.node!))).toEqual([]);
    // The resumed run asks each unfinished node once, and only those.
    const resumedNodes = afterResume.map((r) => r.node!).sort();
    const allKeys = Object.keys(nodeStatuses(project, filmId));
    expect(allKeys).toHaveLength(nodesOf());
    expect(resumedNodes).toEqual(allKeys.filter((k) => !doneBefore.has(k)).sort());
    expect(filmContent(project, filmId)).toEqual(filmContent(refProject, refFilm));
    project.close();
    refProject.close();
  });

  it('with 121 level-3 nodes and a concurrency of 8 the server sees exactly 8 requests in flight at peak', async () => {
    const b = { chapters: 11, subchapters: 11, frames: 2, dialogueLines: 1, qaPairs: 1 };
    const s = await server(validScript(b, 150));
    const project = newProject();
    const { filmIds } = await generate(project, { themes: ['t'], breadth: b, provider: fastProvider(s.baseUrl, { maxConcurrency: 8 }), });
    expect(project.db.prepare("SELECT count(*) AS n FROM plot_node WHERE film_id = ? AND level = 3 AND status = 'done'").get(filmIds[0])).toEqual({ n: 121 });
    expect(s.log).toHaveLength(1 + 11 + 121);
    expect(s.peakInFlight).toBe(8);
    project.close();
  });

  it('shares one concurrency limit across the films of a job', async () => {
    const s = await server(validScript(SMALL, 100));
    const project = newProject();
    const { filmIds } = await generate(project, { themes: ['one', 'two', 'three'], breadth: SMALL, provider: fastProvider(s.baseUrl, { maxConcurrency: 4 }) });
    expect(filmIds).toHaveLength(3);
    expect(s.peakInFlight).toBe(4);
    expect(new Set(s.log.map((r) => r.film)).size).toBe(3);
    for (const id of filmIds) expect(filmContent(project, id)).toMatchObject({ frames: expect.any(Array) });
    expect(filmContent(project, filmIds[1])).toEqual({ ...(filmContent(project, filmIds[0]) as any), film: { ...(filmContent(project, filmIds[0]) as any).film, theme: 'two' } });
    project.close();
  });

  it('with a tokenizer configured, re-asks until the style keyword is one CLIP token', async () => {
    const B = { ...SMALL, chapters: 1, subchapters: 1 };
    const s = await server((req, attempt) => {
      const a: any = validAnswer(req.node!, B);
      if (req.node === 'film' && attempt === 0) Object.assign(a, { styleKeyword: 'Lanternpunkish', styleDescription: '((soft haze)), {Lanternpunkish}' });
      return { content: JSON.stringify(a) };
    });
    const project = newProject();
    const { writeProjectSetting } = await import('../../src/main/plot/settings');
    const { tinySd15Dir } = await import('../support/paths');
    writeProjectSetting(project.db, 'keywordTokenizerDir', `${tinySd15Dir}/pipeline/tokenizer`);
    const { filmIds } = await generate(project, { themes: ['t'], breadth: B, provider: fastProvider(s.baseUrl) });
    const film = s.log.filter((r) => r.node === 'film');
    expect(film).toHaveLength(2);
    expect(film[1].body.messages.at(-1).content).toMatch(/styleKeyword: must be a single CLIP token/);
    expect(getStoryboard(project.db, filmIds[0]).film.styleKeyword).toBe('Dramatic');
    project.close();
  });

  it('without a configured tokenizer, checks the keyword against the tokenizer of the render model the project uses', async () => {
    const { keywordTokenizerDir } = await import('../../src/main/plot/plot-job');
    const { setRenderSettings } = await import('../../src/main/render/settings');
    const { tinySd15Dir } = await import('../support/paths');
    const project = newProject();
    expect(keywordTokenizerDir(project.db)).toBeNull();
    const filmId = Number(project.db.prepare("INSERT INTO film (title) VALUES ('x')").run().lastInsertRowid);
    setRenderSettings(project.db, filmId, { model: `${tinySd15Dir}/pipeline` });
    expect(keywordTokenizerDir(project.db)).toBe(`${tinySd15Dir}/pipeline/tokenizer`);
    project.close();
  });
});
