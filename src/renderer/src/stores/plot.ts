import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { MethodOutput } from '@shared/api/contract';
import type { PlotBreadth, PlotProviderSettings, PlotSettingsView, PlotTemplate, PlotTree } from '@shared/api/methods-plot';
import { api } from '../api/current';
import { errorCode, errorReporter } from './errors';
import { ownedSubscriptions } from './subscriptions';

type NodeDetail = MethodOutput<'plot.node'>;
export interface FramePreview { frameId: number; description: string; prompt: string }
export interface OutlineItem { type: 'chapter' | 'subchapter'; id: number; label: string; title: string; scene: string; summary: string }

/** "New film from a theme", provider settings, templates, and the live expansion tree of one film. */
export const usePlotStore = defineStore('plot', () => {
  const open = ref(false);
  const tab = ref<'new' | 'tree' | 'provider' | 'templates'>('new');
  const error = ref<string | null>(null);
  const report = errorReporter(error);

  const theme = ref('');
  const breadth = ref<PlotBreadth>({ chapters: 11, subchapters: 11, frames: 11, dialogueLines: 6, qaPairs: 2 });
  const expandUntil = ref<1 | 2 | 3>(3);
  const creating = ref(false);
  /** The film the last `create` made; the window opens it in the storyboard (issue #17 defect 8). */
  const createdFilmId = ref<number | null>(null);

  const settings = ref<PlotSettingsView | null>(null);
  const scope = ref<'installation' | 'project'>('project');
  const draft = ref<Partial<PlotProviderSettings>>({});
  const apiKey = ref('');
  const models = ref<string[] | null>(null);
  const testing = ref(false);

  const templates = ref<PlotTemplate[]>([]);

  const filmId = ref<number | null>(null);
  const tree = ref<PlotTree | null>(null);
  const selectedKey = ref<string | null>(null);
  const node = ref<NodeDetail | null>(null);
  const previews = ref<FramePreview[]>([]);
  /** The chapters (level-1 node) or subchapters (level-2 node) the next level will expand, editable. */
  const outline = ref<OutlineItem[]>([]);
  const withChildren = ref(false);
  /** The events of the film whose tree is shown. */
  const filmEvents = ownedSubscriptions();
  let reloadTimer: ReturnType<typeof setTimeout> | null = null;

  const counts = computed(() => {
    const c = { pending: 0, done: 0, failed: 0 };
    for (const n of tree.value?.nodes ?? []) c[n.status]++;
    return c;
  });

  async function loadSettings(): Promise<void> {
    const view = await report.attempt('read the LLM settings', () => api().call('plot.settings.get', {}));
    if (!view) return;
    settings.value = view;
    draft.value = { ...(scope.value === 'project' ? view.project ?? {} : view.installation) };
  }

  async function saveSettings(): Promise<void> {
    const values = Object.fromEntries(Object.entries(draft.value).filter(([, v]) => v !== '' && v !== undefined && v !== null));
    const view = await report.attempt('save the LLM settings', () => api().call('plot.settings.set', {
      scope: scope.value, values, ...(apiKey.value ? { apiKey: apiKey.value } : {}),
    }));
    if (view) {
      settings.value = view;
      apiKey.value = '';
    }
  }

  async function forgetKey(): Promise<void> {
    const view = await report.attempt('forget the API key', () => api().call('plot.settings.set', { scope: scope.value, apiKey: null }));
    if (view) settings.value = view;
  }

  async function testConnection(): Promise<void> {
    testing.value = true;
    models.value = null;
    const values = Object.fromEntries(Object.entries(draft.value).filter(([, v]) => v !== '' && v !== undefined && v !== null));
    const res = await report.attempt('reach the LLM server', () => api().call('plot.testConnection', { values }));
    testing.value = false;
    if (res) models.value = res.models;
  }

  async function loadTemplates(): Promise<void> {
    templates.value = (await report.attempt('list the prompt templates', () => api().call('plot.templates.list', {}))) ?? templates.value;
  }

  async function saveTemplate(t: PlotTemplate): Promise<void> {
    await report.attempt('save the prompt template', () => api().call('plot.templates.save', { level: t.level, system: t.system, user: t.user }));
    await loadTemplates();
  }

  async function resetTemplate(level: 1 | 2 | 3): Promise<void> {
    await report.attempt('reset the prompt template', () => api().call('plot.templates.reset', { level }));
    await loadTemplates();
  }

  async function create(): Promise<void> {
    if (!theme.value.trim()) return;
    creating.value = true;
    const res = await report.attempt('start the plot', () => api().call('plot.create', { themes: [theme.value.trim()], breadth: breadth.value, expandUntil: expandUntil.value }));
    creating.value = false;
    if (res) {
      theme.value = '';
      createdFilmId.value = res.filmIds[0];
      await watchFilm(res.filmIds[0]);
      tab.value = 'tree';
    }
  }

  function scheduleReload(): void {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      void loadTree();
    }, 300);
  }

  /** Shows one film's tree and keeps it live while answers arrive. */
  async function watchFilm(id: number): Promise<void> {
    filmEvents.release();
    filmId.value = id;
    selectedKey.value = null;
    node.value = null;
    previews.value = [];
    filmEvents.hold(
      api().on('data.changed', (p) => { if (p.filmId === id) scheduleReload(); }),
      api().on('job.progress', (j) => { if (j.kind === 'plot.generate') scheduleReload(); }),
    );
    await loadTree();
  }

  async function loadTree(): Promise<void> {
    if (filmId.value === null) return;
    const id = filmId.value;
    let t: PlotTree | undefined;
    try {
      t = await api().call('plot.tree', { filmId: id });
    } catch (err) {
      // A film that was imported or written by hand has no generation tree; that is not an error.
      if (errorCode(err) === 'plot.not_generated') {
        tree.value = null;
        filmId.value = null;
      } else report.fail('read the generation tree', err);
      return;
    }
    if (filmId.value === id) tree.value = t;
    if (selectedKey.value) await select(selectedKey.value);
  }

  async function select(key: string): Promise<void> {
    if (filmId.value === null) return;
    const id = filmId.value;
    selectedKey.value = key;
    const detail = await report.attempt('read the plot node', () => api().call('plot.node', { filmId: id, key }));
    if (!detail) return;
    node.value = detail;
    previews.value = [];
    outline.value = [];
    if (detail.level < 3 && detail.status === 'done') {
      const fd = await report.attempt('read the film outline', () => api().call('films.get', { filmId: id }));
      if (fd && selectedKey.value === key) {
        outline.value = detail.level === 1
          ? fd.chapters.map((c) => ({ type: 'chapter' as const, id: c.id, label: `Chapter ${c.position + 1}`, title: c.title, scene: c.scene, summary: c.summary }))
          : fd.subchapters.filter((s) => fd.chapters.find((c) => c.id === s.chapterId)?.position === detail.chapter)
            .map((s) => ({ type: 'subchapter' as const, id: s.id, label: `${detail.chapter! + 1}-${s.position + 1}`, title: s.title, scene: s.scene, summary: s.summary }));
      }
    }
    if (detail.level === 3 && detail.status === 'done') {
      // The final prompts the renderer will use, names replaced by their lookalikes.
      const sb = await report.attempt('read the storyboard', () => api().call('films.storyboard', { filmId: id }));
      const sub = sb?.subchapters.find((s) => sb.chapters.find((c) => c.id === s.chapterId)?.position === detail.chapter && s.position === detail.subchapter);
      const frames = sub ? sb!.frames.filter((f) => f.subchapterId === sub.id) : [];
      const out: FramePreview[] = [];
      for (const f of frames) {
        const p = await report.attempt('compute the frame prompt', () => api().call('plot.framePrompt', { frameId: f.id }));
        if (p) out.push({ frameId: f.id, description: f.description, prompt: p.prompt });
      }
      if (selectedKey.value === key) previews.value = out;
    }
  }

  async function regenerate(key: string): Promise<void> {
    if (filmId.value === null) return;
    const id = filmId.value;
    await report.attempt('regenerate the node', () => api().call('plot.regenerate', { filmId: id, key, children: withChildren.value }));
    await loadTree();
  }

  async function expand(untilLevel: 1 | 2 | 3, retryFailed = false): Promise<void> {
    if (filmId.value === null) return;
    const id = filmId.value;
    await report.attempt('expand the plot', () => api().call('plot.expand', { filmId: id, untilLevel, retryFailed }));
    await loadTree();
  }

  async function saveOutline(item: OutlineItem): Promise<void> {
    await report.attempt('save the outline', () => api().call('plot.outline.update', { type: item.type, id: item.id, title: item.title, scene: item.scene, summary: item.summary }));
  }

  function close(): void {
    open.value = false;
  }

  return {
    open, tab, error, theme, breadth, expandUntil, creating, createdFilmId, settings, scope, draft, apiKey, models, testing, templates,
    filmId, tree, selectedKey, node, previews, outline, withChildren, counts,
    loadSettings, saveSettings, forgetKey, testConnection, loadTemplates, saveTemplate, resetTemplate, create, watchFilm,
    loadTree, select, regenerate, expand, saveOutline, close,
  };
});
