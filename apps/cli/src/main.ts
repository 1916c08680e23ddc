console.log('ivl');
