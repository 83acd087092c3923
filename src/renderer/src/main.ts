import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { createApi } from './api';
import { installApi } from './api/current';
import './styles.css';

installApi(createApi());
createApp(App).use(createPinia()).mount('#app');
