import type { z } from 'zod';
import type { MethodName, MethodOutput, Methods } from '../../shared/api/contract';
import type { AppContext } from '../app/context';

/**
 * The shape of API handlers. A leaf module: feature areas import these types to declare their
 * handler maps without importing the map that collects them (src/main/composition.ts).
 */

export type Handler<M extends MethodName> = (
  ctx: AppContext, input: z.output<Methods[M]['input']>,
) => MethodOutput<M> | Promise<MethodOutput<M>>;

/** Every method of the contract with its handler. */
export type HandlerMap = { [M in MethodName]: Handler<M> };

/** An area's share of the map: `AreaHandlers<'plot.tree' | 'plot.node'>`. */
export type AreaHandlers<M extends MethodName> = Pick<HandlerMap, M>;
