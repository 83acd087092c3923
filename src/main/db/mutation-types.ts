import type { EventPayload } from '../../shared/api/contract';

/** One entry of a `data.changed` event: an entity type and the ids of its rows (none: reload all of them). */
export type ChangedEntity = EventPayload<'data.changed'>['entities'][number];

/** What one write touched in one film (`filmId` null: the film list itself). */
export interface Touched { filmId: number | null; entities: ChangedEntity[] }
